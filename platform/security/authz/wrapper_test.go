package authz

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	merrors "go-micro.dev/v4/errors"
	"go-micro.dev/v4/metadata"
	"go-micro.dev/v4/server"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"

	"github.com/bulwark-go/bulwark/platform/security/pki/pkitest"
)

type fakeRequest struct {
	server.Request
	endpoint string
}

func (r fakeRequest) Endpoint() string { return r.endpoint }

// peerContext returns a context whose gRPC peer presented a verified
// certificate of service.
func peerContext(t *testing.T, ca *pkitest.CA, service string) context.Context {
	leaf := ca.Leaf(t, service, time.Now().Add(-time.Minute), time.Now().Add(time.Hour))
	state := tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{leaf.Leaf, ca.Intermediate, ca.Root}}}
	return peer.NewContext(context.Background(), &peer.Peer{
		Addr:     &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 4000},
		AuthInfo: credentials.TLSInfo{State: state},
	})
}

func TestHandlerWrapper(t *testing.T) {
	ca := pkitest.NewCA(t)
	p, err := Parse("p.yaml", []byte("services: [gateway, orders, inventory]\nendpoints:\n  inventory:\n    Inventory.Reserve: [orders]\n"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desc     string
		ctx      context.Context
		endpoint string
		wantCode int32
		wantLog  string
	}{
		{desc: "allowed", ctx: peerContext(t, ca, "orders"), endpoint: "Inventory.Reserve"},
		{desc: "denied caller", ctx: peerContext(t, ca, "gateway"), endpoint: "Inventory.Reserve", wantCode: 403, wantLog: `"caller":"gateway"`},
		{desc: "unlisted endpoint", ctx: peerContext(t, ca, "orders"), endpoint: "Inventory.Release", wantCode: 403, wantLog: "Inventory.Release"},
		{desc: "no peer", ctx: context.Background(), endpoint: "Inventory.Reserve", wantCode: 401, wantLog: "no verified caller identity"},
		{
			desc:     "forged metadata",
			ctx:      metadata.NewContext(peerContext(t, ca, "gateway"), metadata.Metadata{"Micro-From-Service": "orders", "Remote": "orders"}),
			endpoint: "Inventory.Reserve",
			wantCode: 403,
			wantLog:  `"caller":"gateway"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			var logs bytes.Buffer
			wrapper := HandlerWrapper(p, "inventory", slog.New(slog.NewJSONHandler(&logs, nil)))
			var seen string
			handler := wrapper(func(ctx context.Context, req server.Request, rsp any) error {
				seen, _ = Caller(ctx)
				return nil
			})
			err := handler(tt.ctx, fakeRequest{endpoint: tt.endpoint}, nil)
			if tt.wantCode == 0 {
				if err != nil {
					t.Fatalf("handler = %v, want nil", err)
				}
				if seen != "orders" {
					t.Fatalf("Caller in handler = %q, want orders", seen)
				}
				return
			}
			me, ok := err.(*merrors.Error)
			if !ok {
				t.Fatalf("handler error = %#v, want a go-micro error", err)
			}
			if me.Code != tt.wantCode {
				t.Fatalf("code = %d, want %d", me.Code, tt.wantCode)
			}
			if seen != "" {
				t.Fatal("handler ran for a rejected call")
			}
			if !strings.Contains(logs.String(), tt.wantLog) {
				t.Fatalf("log %q does not contain %q", logs.String(), tt.wantLog)
			}
		})
	}
}

func TestHandlerWrapperLimitsLogLines(t *testing.T) {
	ca := pkitest.NewCA(t)
	p, err := Parse("p.yaml", []byte("services: [a]\n"))
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	handler := HandlerWrapper(p, "a", slog.New(slog.NewJSONHandler(&logs, nil)))(
		func(context.Context, server.Request, any) error { return nil })
	ctx := peerContext(t, ca, "a")
	for range 1000 {
		_ = handler(ctx, fakeRequest{endpoint: "H.M"}, nil)
	}
	if lines := strings.Count(logs.String(), "\n"); lines > 2*logBurst {
		t.Fatalf("%d log lines for 1000 denied calls, want at most %d", lines, 2*logBurst)
	}
}

func TestCallerAbsent(t *testing.T) {
	if name, ok := Caller(context.Background()); ok || name != "" {
		t.Fatalf("Caller of an empty context = %q, %v", name, ok)
	}
}
