package rpc_test

import (
	"context"
	"strings"
	"testing"
	"time"

	grpcclient "github.com/go-micro/plugins/v4/client/grpc"
	grpcserver "github.com/go-micro/plugins/v4/server/grpc"
	"go-micro.dev/v4/broker"
	"go-micro.dev/v4/client"
	"go-micro.dev/v4/registry"
	"go-micro.dev/v4/selector"
	"go-micro.dev/v4/server"

	"github.com/bulwark-go/bulwark/services/internal/rpc"
)

type GreetRequest struct {
	Name  string   `json:"name"`
	Count int64    `json:"count"`
	Tags  []string `json:"tags"`
}

type GreetResponse struct {
	Greeting string `json:"greeting"`
	Count    int64  `json:"count"`
}

type Greeted struct {
	Name string `json:"name"`
}

// Greeter is a plain struct handler, as the Bulwark services use. The
// server registers a method only if its request and response types are
// exported.
type Greeter struct{}

func (Greeter) Greet(_ context.Context, req *GreetRequest, rsp *GreetResponse) error {
	switch req.Name {
	case "":
		return rpc.InvalidField("greeter", "name", "is required")
	case "flood":
		return rpc.TooManyRequests("greeter", "rate limit exceeded", 7*time.Second)
	}
	rsp.Greeting = "hello " + req.Name
	rsp.Count = req.Count + int64(len(req.Tags))
	return nil
}

// startWire runs a go-micro gRPC server with the Greeter handler and a
// subscriber, on a loopback port, with an in-memory registry and broker, and
// returns a gRPC client that finds it through its own selector. Plaintext is
// used here only: the services get mTLS from the security wiring.
func startWire(t *testing.T, clientOpts ...client.Option) (client.Client, <-chan Greeted) {
	t.Helper()
	reg := registry.NewMemoryRegistry()
	brk := broker.NewMemoryBroker()
	if err := brk.Connect(); err != nil {
		t.Fatal(err)
	}
	srv := grpcserver.NewServer(
		server.Name("greeter"),
		server.Id(t.Name()),
		server.Address("127.0.0.1:0"),
		server.Registry(reg),
		server.Broker(brk),
	)
	if err := srv.Handle(srv.NewHandler(Greeter{})); err != nil {
		t.Fatal(err)
	}
	events := make(chan Greeted, 1)
	sub := srv.NewSubscriber("greeted", func(_ context.Context, ev *Greeted) error {
		events <- *ev
		return nil
	})
	if err := srv.Subscribe(sub); err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatalf("server Start: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			t.Errorf("server Stop: %v", err)
		}
	})
	opts := append([]client.Option{
		client.Registry(reg),
		client.Broker(brk),
		client.Selector(selector.NewSelector(selector.Registry(reg))),
		client.RequestTimeout(5 * time.Second),
	}, clientOpts...)
	return grpcclient.NewClient(opts...), events
}

func TestWireJSONPlainStructs(t *testing.T) {
	c, _ := startWire(t)
	rsp, err := rpc.Call[GreetResponse](context.Background(), c, "greeter", "Greeter.Greet",
		&GreetRequest{Name: "ann", Count: 2, Tags: []string{"a", "b"}})
	if err != nil {
		t.Fatalf("Call: %v", err)
	}
	if rsp.Greeting != "hello ann" || rsp.Count != 4 {
		t.Errorf("response = %+v, want greeting \"hello ann\" and count 4", rsp)
	}
}

func TestWireClientContentTypeOption(t *testing.T) {
	c, _ := startWire(t, client.ContentType(rpc.ContentType))
	var rsp GreetResponse
	req := c.NewRequest("greeter", "Greeter.Greet", &GreetRequest{Name: "bob"})
	if err := c.Call(context.Background(), req, &rsp); err != nil {
		t.Fatalf("Call with client.ContentType: %v", err)
	}
	if rsp.Greeting != "hello bob" {
		t.Errorf("greeting = %q", rsp.Greeting)
	}
}

// TestWireDefaultContentTypeFails shows why ContentType must be set: the
// gRPC client's default, application/grpc+proto, cannot encode plain structs.
func TestWireDefaultContentTypeFails(t *testing.T) {
	c, _ := startWire(t)
	var rsp GreetResponse
	req := c.NewRequest("greeter", "Greeter.Greet", &GreetRequest{Name: "bob"})
	if req.ContentType() != "application/grpc+proto" {
		t.Fatalf("default content type = %q; the plugin changed, check this test", req.ContentType())
	}
	if err := c.Call(context.Background(), req, &rsp); err == nil {
		t.Fatal("Call with the default content type succeeded on plain structs")
	}
}

func TestWireErrorsKeepFieldAndRetryAfter(t *testing.T) {
	c, _ := startWire(t)
	_, err := rpc.Call[GreetResponse](context.Background(), c, "greeter", "Greeter.Greet", &GreetRequest{})
	merr := rpc.AsError(err)
	if merr == nil || merr.Code != 400 {
		t.Fatalf("error = %v, want a 400 go-micro error", err)
	}
	if field, _ := rpc.FieldReason(merr.Detail); field != "name" {
		t.Errorf("field = %q (detail %q), want name", field, merr.Detail)
	}

	_, err = rpc.Call[GreetResponse](context.Background(), c, "greeter", "Greeter.Greet", &GreetRequest{Name: "flood"})
	merr = rpc.AsError(err)
	if merr == nil || merr.Code != 429 {
		t.Fatalf("error = %v, want a 429 go-micro error", err)
	}
	if d, ok := rpc.RetryAfter(merr.Detail); !ok || d != 7*time.Second {
		t.Errorf("RetryAfter(%q) = (%v, %v), want (7s, true)", merr.Detail, d, ok)
	}
}

func TestWireUnknownServiceUnavailable(t *testing.T) {
	c, _ := startWire(t)
	_, err := rpc.Call[GreetResponse](context.Background(), c, "nobody", "Nobody.Greet", &GreetRequest{Name: "x"})
	if !rpc.IsUnavailable(err) {
		t.Errorf("IsUnavailable(%v) = false for a service with no instance", err)
	}
}

func TestWirePublishJSON(t *testing.T) {
	c, events := startWire(t)
	pub, err := rpc.NewPublisher(c)
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish(context.Background(), "greeted", &Greeted{Name: "ann"}); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	select {
	case ev := <-events:
		if ev.Name != "ann" {
			t.Errorf("event = %+v", ev)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("subscriber received no event")
	}
}

// TestWireWrongTypesRejectedBeforeHandler records what a request body with
// wrong JSON types does on the wire: the server fails to decode it before any
// handler or wrapper runs, and the go-micro client reports that as its own
// error. The gateway decodes end-user JSON strictly, so only a faulty service
// can send such a body.
func TestWireWrongTypesRejectedBeforeHandler(t *testing.T) {
	c, _ := startWire(t)
	_, err := rpc.Call[GreetResponse](context.Background(), c, "greeter", "Greeter.Greet",
		map[string]any{"name": "ann", "count": "three"})
	merr := rpc.AsError(err)
	if merr == nil {
		t.Fatalf("error = %v, want a go-micro error", err)
	}
	if merr.Id != rpc.ClientID || merr.Code != 500 {
		t.Errorf("error = %s, want a 500 from %s", merr, rpc.ClientID)
	}
	if !strings.Contains(merr.Detail, "unmarshal") {
		t.Errorf("detail = %q, want the decoding failure", merr.Detail)
	}
}
