package microwrap

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	grpcclient "github.com/go-micro/plugins/v4/client/grpc"
	grpcserver "github.com/go-micro/plugins/v4/server/grpc"
	"github.com/prometheus/client_golang/prometheus"
	"go-micro.dev/v4/broker"
	"go-micro.dev/v4/client"
	"go-micro.dev/v4/registry"
	"go-micro.dev/v4/selector"
	"go-micro.dev/v4/server"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/bulwark-go/bulwark/platform/security/grpcerr"
	"github.com/bulwark-go/bulwark/platform/security/internal/clock"
	"github.com/bulwark-go/bulwark/platform/security/ratelimit"
	"github.com/bulwark-go/bulwark/platform/security/ratelimit/internal/testca"
)

const (
	serverName  = "orders"
	contentType = "application/grpc+json"
)

var testEpoch = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

type EchoRequest struct {
	Text string `json:"text"`
}

type EchoResponse struct {
	Text string `json:"text"`
}

type OrderCreated struct {
	ID int `json:"id"`
}

// Greeter is the handler of the test server; Echo and Ping let tests give
// two endpoints different limits.
type Greeter struct{}

func (Greeter) Echo(_ context.Context, req *EchoRequest, rsp *EchoResponse) error {
	rsp.Text = req.Text
	return nil
}

func (Greeter) Ping(_ context.Context, _ *EchoRequest, rsp *EchoResponse) error {
	rsp.Text = "pong"
	return nil
}

// testServer is a go-micro gRPC server on loopback with mTLS from a test CA
// and the rate-limit handler wrapper.
type testServer struct {
	broker     broker.Broker
	ca         *testca.CA
	registry   registry.Registry
	address    string
	handshakes atomic.Int64
	clock      *clock.Fake
	store      *ratelimit.Memory[ratelimit.Key]
	metrics    *ratelimit.Metrics
	promReg    *prometheus.Registry
}

type serverConfig struct {
	rules   *ratelimit.Rules
	store   ratelimit.Store // nil means the test server's Memory store
	options []server.Option
	// topic and subscriber, when set, subscribe the server to topic.
	topic      string
	subscriber func(context.Context, *OrderCreated) error
}

func startServer(t testing.TB, cfg serverConfig) *testServer {
	t.Helper()
	ts := &testServer{ca: testca.New(t), registry: registry.NewMemoryRegistry(), clock: clock.NewFake(testEpoch)}
	var err error
	if ts.store, err = ratelimit.NewMemory[ratelimit.Key](ratelimit.MemoryOptions{Clock: ts.clock}); err != nil {
		t.Fatal(err)
	}
	ts.promReg = prometheus.NewRegistry()
	if ts.metrics, err = ratelimit.NewMetrics(ts.promReg, serverName); err != nil {
		t.Fatal(err)
	}
	store := cfg.store
	if store == nil {
		store = ts.store
	}
	wrapper, err := NewHandlerWrapper(HandlerOptions{
		Service: serverName,
		Store:   store,
		Rules:   func() *ratelimit.Rules { return cfg.rules },
		Metrics: ts.metrics,
	})
	if err != nil {
		t.Fatal(err)
	}
	tlsConfig := ts.ca.ServerTLS(t, serverName)
	tlsConfig.VerifyConnection = func(tls.ConnectionState) error {
		ts.handshakes.Add(1)
		return nil
	}
	brk := broker.NewMemoryBroker()
	if err := brk.Connect(); err != nil {
		t.Fatal(err)
	}
	ts.broker = brk
	opts := append([]server.Option{
		server.Name(serverName),
		server.Id(t.Name()),
		server.Address("127.0.0.1:0"),
		server.Registry(ts.registry),
		server.Broker(brk),
		server.WrapHandler(wrapper),
		grpcserver.AuthTLS(tlsConfig),
		grpcerr.ServerOption(),
	}, cfg.options...)
	srv := grpcserver.NewServer(opts...)
	if err := srv.Handle(srv.NewHandler(Greeter{})); err != nil {
		t.Fatal(err)
	}
	if cfg.subscriber != nil {
		if err := srv.Subscribe(srv.NewSubscriber(cfg.topic, cfg.subscriber)); err != nil {
			t.Fatal(err)
		}
	}
	if err := srv.Start(); err != nil {
		t.Fatalf("server Start: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			t.Errorf("server Stop: %v", err)
		}
	})
	services, err := ts.registry.GetService(serverName)
	if err != nil || len(services) == 0 || len(services[0].Nodes) == 0 {
		t.Fatalf("server not registered: %v", err)
	}
	ts.address = services[0].Nodes[0].Address
	return ts
}

// client returns a go-micro gRPC client presenting cert, with its own
// selector on the server's registry.
func (ts *testServer) client(t testing.TB, cert tls.Certificate, opts ...client.Option) client.Client {
	t.Helper()
	all := append([]client.Option{
		client.Registry(ts.registry),
		client.Broker(ts.broker),
		client.Selector(selector.NewSelector(selector.Registry(ts.registry))),
		client.ContentType(contentType),
		client.RequestTimeout(10 * time.Second),
		client.Retries(0),
		grpcclient.AuthTLS(ts.ca.ClientTLS(cert, serverName)),
	}, opts...)
	return grpcclient.NewClient(all...)
}

// serviceClient returns a go-micro client with a leaf of service.
func (ts *testServer) serviceClient(t testing.TB, service string, opts ...client.Option) client.Client {
	t.Helper()
	return ts.client(t, ts.ca.Leaf(t, service), opts...)
}

func echo(ctx context.Context, c client.Client, endpoint string) error {
	var rsp EchoResponse
	return c.Call(ctx, c.NewRequest(serverName, endpoint, &EchoRequest{Text: "hi"}), &rsp)
}

// jsonCodec lets a plain grpc-go client speak the JSON content type of the
// go-micro server.
type jsonCodec struct{}

func (jsonCodec) Marshal(v any) ([]byte, error)      { return json.Marshal(v) }
func (jsonCodec) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }
func (jsonCodec) Name() string                       { return "json" }

// plainConn returns a plain grpc-go connection presenting a leaf of
// service.
func (ts *testServer) plainConn(t *testing.T, service string) *grpc.ClientConn {
	t.Helper()
	creds := credentials.NewTLS(ts.ca.ClientTLS(ts.ca.Leaf(t, service), serverName))
	conn, err := grpc.NewClient(ts.address, grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func plainEcho(ctx context.Context, conn *grpc.ClientConn) error {
	var rsp EchoResponse
	return conn.Invoke(ctx, "/"+serverName+".Greeter/Echo", &EchoRequest{Text: "hi"}, &rsp,
		grpc.ForceCodec(jsonCodec{}))
}

// counterValue returns the value of the test server's counter with the
// given name, endpoint and class.
func (ts *testServer) counterValue(t *testing.T, name, endpoint, class string) float64 {
	t.Helper()
	families, err := ts.promReg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["endpoint"] == endpoint && labels["class"] == class {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no %s{endpoint=%q,class=%q}", name, endpoint, class)
	return 0
}
