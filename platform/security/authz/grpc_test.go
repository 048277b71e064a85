package authz_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	grpcserver "github.com/go-micro/plugins/v4/server/grpc"
	"go-micro.dev/v4/registry"
	"go-micro.dev/v4/server"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/bulwark-go/bulwark/platform/security/authz"
	"github.com/bulwark-go/bulwark/platform/security/grpcerr"
	"github.com/bulwark-go/bulwark/platform/security/identity"
	"github.com/bulwark-go/bulwark/platform/security/internal/clock"
	"github.com/bulwark-go/bulwark/platform/security/mtls"
	"github.com/bulwark-go/bulwark/platform/security/pki"
	"github.com/bulwark-go/bulwark/platform/security/pki/pkitest"
)

type PingRequest struct{}

type PingResponse struct {
	Caller string `json:"caller"`
}

// Probe is the handler of the test server.
type Probe struct{}

func (Probe) Ping(ctx context.Context, _ *PingRequest, rsp *PingResponse) error {
	rsp.Caller, _ = authz.Caller(ctx)
	return nil
}

// jsonCodec lets a plain grpc-go client speak the JSON content type of the
// go-micro server.
type jsonCodec struct{}

func (jsonCodec) Marshal(v any) ([]byte, error)      { return json.Marshal(v) }
func (jsonCodec) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }
func (jsonCodec) Name() string                       { return "json" }

// TestGRPCExpiryOnOpenConnection calls a go-micro gRPC server
// over one mTLS connection from a plain gRPC client whose certificate
// expires after the handshake: the call before expiry passes, the call
// after it gets Unauthenticated on the same connection.
func TestGRPCExpiryOnOpenConnection(t *testing.T) {
	ca := pkitest.NewCA(t)
	policy, err := authz.Parse("p.yaml", []byte("services: [orders, inventory]\nendpoints:\n  inventory:\n    Probe.Ping: [orders]\n"))
	if err != nil {
		t.Fatal(err)
	}
	src, err := pki.NewSource(context.Background(), pki.Config{
		Service: "inventory",
		Issuer:  ca.Issuer(t, "inventory", time.Hour, time.Now),
		Bundle:  pki.NewBundle(ca.Root),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(src.Close)

	start := time.Now()
	fake := clock.NewFake(start)
	reg := registry.NewMemoryRegistry()
	srv := grpcserver.NewServer(
		server.Name("inventory"),
		server.Id(t.Name()),
		server.Address("127.0.0.1:0"),
		server.Registry(reg),
		server.WrapHandler(authz.HandlerWrapper(policy, "inventory", slog.New(slog.DiscardHandler), authz.WithClock(fake))),
		grpcserver.AuthTLS(mtls.ServerConfig(src)),
		grpcerr.ServerOption(),
	)
	if err := srv.Handle(srv.NewHandler(Probe{})); err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop() })
	services, err := reg.GetService("inventory")
	if err != nil || len(services) == 0 || len(services[0].Nodes) == 0 {
		t.Fatalf("server not registered: %v", err)
	}

	leaf := ca.Leaf(t, "orders", start.Add(-time.Minute), start.Add(10*time.Minute))
	creds := credentials.NewTLS(&tls.Config{
		RootCAs:      ca.Pool(),
		ServerName:   identity.DNSName("inventory"),
		Certificates: []tls.Certificate{*leaf},
		MinVersion:   tls.VersionTLS12,
	})
	conn, err := grpc.NewClient(services[0].Nodes[0].Address, grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ping := func() (*PingResponse, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var rsp PingResponse
		err := conn.Invoke(ctx, "/inventory.Probe/Ping", &PingRequest{}, &rsp, grpc.ForceCodec(jsonCodec{}))
		return &rsp, err
	}

	rsp, err := ping()
	if err != nil {
		t.Fatalf("call with a valid certificate: %v", err)
	}
	if rsp.Caller != "orders" {
		t.Fatalf("caller = %q, want orders", rsp.Caller)
	}
	fake.Advance(11 * time.Minute)
	if _, err := ping(); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("call after the certificate expired = %v, want Unauthenticated", err)
	}
	// The connection stayed open: a certificate valid at the call passes
	// again once time allows it, so the rejection came from the time check.
	fake.Advance(-11 * time.Minute)
	if _, err := ping(); err != nil {
		t.Fatalf("call on the same connection within validity: %v", err)
	}
}
