package microwrap_test

import (
	"log"

	grpcclient "github.com/go-micro/plugins/v4/client/grpc"
	grpcserver "github.com/go-micro/plugins/v4/server/grpc"
	"go-micro.dev/v4/server"

	"github.com/bulwark-go/bulwark/platform/security/grpcerr"
	"github.com/bulwark-go/bulwark/platform/security/ratelimit"
	"github.com/bulwark-go/bulwark/platform/security/ratelimit/microwrap"
)

// Example wires the handler wrapper into a go-micro gRPC server and keeps
// client connections open after rejections. A real service also passes its
// mTLS configs with grpcserver.AuthTLS and grpcclient.AuthTLS, and its
// rules from a config.Reloader.
func Example() {
	store, err := ratelimit.NewMemory[ratelimit.Key](ratelimit.MemoryOptions{})
	if err != nil {
		log.Fatal(err)
	}
	rules := &ratelimit.Rules{
		Default:   ratelimit.PerSecond(100, 100),
		Endpoints: map[string]ratelimit.Limit{"Orders.Create": ratelimit.PerSecond(10, 5)},
	}
	limitCalls, err := microwrap.NewHandlerWrapper(microwrap.HandlerOptions{
		Service: "orders",
		Store:   store,
		Rules:   func() *ratelimit.Rules { return rules },
	})
	if err != nil {
		log.Fatal(err)
	}
	srv := grpcserver.NewServer(
		server.Name("orders"),
		server.WrapHandler(limitCalls),
		grpcerr.ServerOption(), // 429 reaches plain gRPC clients as ResourceExhausted
	)
	client := grpcclient.NewClient(microwrap.KeepConnOnRejection()...)
	_, _ = srv, client
}
