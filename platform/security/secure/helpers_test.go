package secure_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go-micro.dev/v4"
	"go-micro.dev/v4/client"
	"go-micro.dev/v4/registry"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"

	"github.com/bulwark-go/bulwark/platform/security/authz"
	"github.com/bulwark-go/bulwark/platform/security/pki"
	"github.com/bulwark-go/bulwark/platform/security/secure"
)

const testPolicy = `
services: [gateway, users, orders, inventory]
endpoints:
  inventory:
    Probe.Whoami: [orders, gateway]
    Probe.Reserve: [orders]
topics:
  order.placed:
    publishers: [orders]
    subscribers: [inventory]
`

func writePolicy(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "authz.yaml")
	if err := os.WriteFile(path, []byte(testPolicy), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// WhoamiRequest and WhoamiResponse are the probe's messages, sent as JSON.
type WhoamiRequest struct{}

type WhoamiResponse struct {
	Caller string
	Serial string
}

// Probe is a handler that returns the caller's identity and records the
// serials of the client certificates it saw.
type Probe struct {
	mu      sync.Mutex
	serials map[string]bool
}

func (p *Probe) Whoami(ctx context.Context, _ *WhoamiRequest, rsp *WhoamiResponse) error {
	rsp.Caller, _ = authz.Caller(ctx)
	if pr, ok := peer.FromContext(ctx); ok {
		if info, ok := pr.AuthInfo.(credentials.TLSInfo); ok && len(info.State.VerifiedChains) > 0 {
			rsp.Serial = pki.Serial(info.State.VerifiedChains[0][0])
			p.mu.Lock()
			p.serials[rsp.Serial] = true
			p.mu.Unlock()
		}
	}
	return nil
}

func (p *Probe) Reserve(ctx context.Context, _ *WhoamiRequest, rsp *WhoamiResponse) error {
	rsp.Caller, _ = authz.Caller(ctx)
	return nil
}

func (p *Probe) serialCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.serials)
}

// OrderPlaced is the event of the test topic.
type OrderPlaced struct{ ID int }

type received struct {
	publisher string
	event     OrderPlaced
}

// startService builds and starts a secured service. When handler is set it
// is registered, and when events is set the service subscribes to
// order.placed and sends every event there.
func startService(t testing.TB, cfg secure.Config, handler any, events chan<- received) *secure.Service {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	if cfg.Address == "" {
		cfg.Address = "127.0.0.1:0"
	}
	if cfg.BrokerAddress == "" {
		cfg.BrokerAddress = "127.0.0.1:0"
	}
	svc, err := secure.NewService(context.Background(), cfg)
	if err != nil {
		t.Fatalf("NewService(%s): %v", cfg.Name, err)
	}
	if handler != nil {
		if err := micro.RegisterHandler(svc.Server(), handler); err != nil {
			t.Fatal(err)
		}
	}
	if events != nil {
		err := micro.RegisterSubscriber("order.placed", svc.Server(), func(ctx context.Context, e *OrderPlaced) error {
			publisher, _ := authz.Caller(ctx)
			events <- received{publisher: publisher, event: *e}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := svc.Start(); err != nil {
		t.Fatalf("Start(%s): %v", cfg.Name, err)
	}
	t.Cleanup(func() {
		if err := svc.Stop(); err != nil {
			t.Logf("Stop(%s): %v", cfg.Name, err)
		}
	})
	return svc
}

// call makes one JSON call of endpoint on inventory.
func call(ctx context.Context, svc *secure.Service, endpoint string, opts ...client.CallOption) (*WhoamiResponse, error) {
	req := svc.Client().NewRequest("inventory", endpoint, &WhoamiRequest{}, client.WithContentType("application/json"))
	rsp := &WhoamiResponse{}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return rsp, svc.Client().Call(ctx, req, rsp, opts...)
}

// publish publishes one order.placed event.
func publish(svc *secure.Service, id int) error {
	msg := svc.Client().NewMessage("order.placed", &OrderPlaced{ID: id}, client.WithMessageContentType("application/json"))
	return svc.Client().Publish(context.Background(), msg)
}

// serverAddress returns the registered address of inventory.
func serverAddress(t testing.TB, reg registry.Registry) string {
	t.Helper()
	svcs, err := reg.GetService("inventory")
	if err != nil || len(svcs) == 0 || len(svcs[0].Nodes) == 0 {
		t.Fatalf("inventory is not registered: %v", err)
	}
	return svcs[0].Nodes[0].Address
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

var errTimeout = errors.New("timed out")
