package microwrap

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	merrors "go-micro.dev/v4/errors"
	"go-micro.dev/v4/metadata"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/bulwark-go/bulwark/platform/security/ratelimit"
)

func microCode(err error) int32 {
	var merr *merrors.Error
	if errors.As(err, &merr) {
		return merr.Code
	}
	return 0
}

// TestHandlerKeysByVerifiedCaller spends the gateway's budget, then shows
// that another service keeps its own, that metadata naming another service
// changes nothing, and that the gateway passes again after RetryAfter.
func TestHandlerKeysByVerifiedCaller(t *testing.T) {
	rules := &ratelimit.Rules{Default: ratelimit.PerSecond(1, 2)}
	ts := startServer(t, serverConfig{rules: rules})
	gateway := ts.serviceClient(t, "gateway")
	users := ts.serviceClient(t, "users")
	ctx := context.Background()

	for i := range 2 {
		if err := echo(ctx, gateway, "Greeter.Echo"); err != nil {
			t.Fatalf("gateway call %d within the burst: %v", i+1, err)
		}
	}
	err := echo(ctx, gateway, "Greeter.Echo")
	if microCode(err) != http.StatusTooManyRequests {
		t.Fatalf("gateway call past the burst = %v, want a 429", err)
	}
	retryAfter, ok := RetryAfter(err)
	if !ok || retryAfter != time.Second {
		t.Fatalf("RetryAfter = %s, %v; want 1s", retryAfter, ok)
	}

	// The gateway claims to be users in every header a caller can write.
	forged := metadata.NewContext(ctx, metadata.Metadata{
		"Micro-From-Service": "users",
		"Remote":             "10.9.8.7:1234",
		"X-Forwarded-For":    "10.9.8.7",
	})
	if err := echo(forged, gateway, "Greeter.Echo"); microCode(err) != http.StatusTooManyRequests {
		t.Fatalf("gateway call with forged metadata = %v, want a 429 from the gateway's budget", err)
	}
	// users has its own budget, also when its metadata claims gateway.
	forgedAsGateway := metadata.NewContext(ctx, metadata.Metadata{"Micro-From-Service": "gateway"})
	if err := echo(forgedAsGateway, users, "Greeter.Echo"); err != nil {
		t.Fatalf("users call = %v, want it allowed on its own budget", err)
	}

	ts.clock.Advance(retryAfter)
	if err := echo(ctx, gateway, "Greeter.Echo"); err != nil {
		t.Fatalf("gateway call after RetryAfter: %v", err)
	}

	rejected := ts.counterValue(t, "bulwark_ratelimit_rejected_total", "Greeter.Echo", ratelimit.ClassService)
	if rejected != 2 {
		t.Fatalf("rejected counter = %v, want 2", rejected)
	}
	allowed := ts.counterValue(t, "bulwark_ratelimit_allowed_total", "Greeter.Echo", ratelimit.ClassService)
	if allowed != 4 {
		t.Fatalf("allowed counter = %v, want 4", allowed)
	}
}

func TestHandlerPlainGRPCResourceExhausted(t *testing.T) {
	ts := startServer(t, serverConfig{rules: &ratelimit.Rules{Default: ratelimit.PerMinute(1, 1)}})
	conn := ts.plainConn(t, "gateway")
	ctx := context.Background()
	if err := plainEcho(ctx, conn); err != nil {
		t.Fatalf("first plain gRPC call: %v", err)
	}
	err := plainEcho(ctx, conn)
	st, ok := status.FromError(err)
	if !ok {
		t.Fatalf("second call error %v is not a gRPC status", err)
	}
	if st.Code() != codes.ResourceExhausted {
		t.Fatalf("code = %v, want ResourceExhausted", st.Code())
	}
	details := st.Details()
	if len(details) == 0 {
		t.Fatal("status carries no details, want the go-micro error")
	}
	merr, ok := details[0].(*merrors.Error)
	if !ok || merr.Code != http.StatusTooManyRequests {
		t.Fatalf("first detail = %v, want the go-micro 429", details[0])
	}
	if !strings.Contains(merr.Detail, "retry after 1m0s") {
		t.Fatalf("detail %q does not carry the wait of one minute", merr.Detail)
	}
}

func TestHandlerEndpointOverride(t *testing.T) {
	rules := &ratelimit.Rules{
		Default:   ratelimit.PerMinute(100, 100),
		Endpoints: map[string]ratelimit.Limit{"Greeter.Echo": ratelimit.PerMinute(1, 1)},
		Pairs:     map[string]map[string]ratelimit.Limit{"Greeter.Echo": {"users": ratelimit.PerMinute(3, 3)}},
	}
	ts := startServer(t, serverConfig{rules: rules})
	gateway := ts.serviceClient(t, "gateway")
	users := ts.serviceClient(t, "users")
	ctx := context.Background()

	if err := echo(ctx, gateway, "Greeter.Echo"); err != nil {
		t.Fatal(err)
	}
	if err := echo(ctx, gateway, "Greeter.Echo"); microCode(err) != http.StatusTooManyRequests {
		t.Fatalf("second Echo = %v, want the endpoint limit's 429", err)
	}
	if err := echo(ctx, gateway, "Greeter.Ping"); err != nil {
		t.Fatalf("Ping on the default limit: %v", err)
	}
	for i := range 3 {
		if err := echo(ctx, users, "Greeter.Echo"); err != nil {
			t.Fatalf("users Echo %d within its pair limit: %v", i+1, err)
		}
	}
	if err := echo(ctx, users, "Greeter.Echo"); microCode(err) != http.StatusTooManyRequests {
		t.Fatalf("users Echo past its pair limit = %v, want 429", err)
	}
}

func TestHandlerAnonymousCaller(t *testing.T) {
	tests := []struct {
		desc      string
		anonymous ratelimit.Limit
		wantFirst int32
		wantNext  int32
	}{
		{desc: "rejected without anonymous limit", wantFirst: http.StatusUnauthorized, wantNext: http.StatusUnauthorized},
		{desc: "shared anonymous budget", anonymous: ratelimit.PerMinute(1, 1), wantFirst: 0, wantNext: http.StatusTooManyRequests},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			rules := &ratelimit.Rules{Default: ratelimit.PerMinute(100, 100), Anonymous: tt.anonymous}
			ts := startServer(t, serverConfig{rules: rules})
			// A certificate from the trusted CA that names no service: the
			// handshake verifies it, but it carries no identity.
			cert := ts.ca.LeafWithURIs(t, "operator.bulwark.internal")
			first := ts.client(t, cert)
			// A second anonymous caller shares the same budget.
			other := ts.client(t, ts.ca.LeafWithURIs(t, "tool.bulwark.internal",
				&url.URL{Scheme: "https", Host: "example.internal"}))
			ctx := context.Background()
			if got := microCode(echo(ctx, first, "Greeter.Echo")); got != tt.wantFirst {
				t.Fatalf("first anonymous call code = %d, want %d", got, tt.wantFirst)
			}
			if got := microCode(echo(ctx, other, "Greeter.Ping")); got != tt.wantNext {
				t.Fatalf("second anonymous caller code = %d, want %d", got, tt.wantNext)
			}
			if err := echo(ctx, ts.serviceClient(t, "gateway"), "Greeter.Echo"); err != nil {
				t.Fatalf("identified caller affected by anonymous calls: %v", err)
			}
		})
	}
}

// failingStore fails every decision.
type failingStore struct{}

func (failingStore) Take(context.Context, ratelimit.Key, ratelimit.Limit, time.Duration) (ratelimit.Result, error) {
	return ratelimit.Result{}, errors.New("store down")
}

func TestHandlerStoreFailureRejects(t *testing.T) {
	ts := startServer(t, serverConfig{rules: &ratelimit.Rules{Default: ratelimit.PerSecond(1, 1)}, store: failingStore{}})
	err := echo(context.Background(), ts.serviceClient(t, "gateway"), "Greeter.Echo")
	if microCode(err) != http.StatusServiceUnavailable {
		t.Fatalf("call with a failing store = %v, want 503", err)
	}
	if strings.Contains(err.Error(), "store down") {
		t.Fatalf("error %q shows the store's internal error to the caller", err)
	}
}

func TestNewHandlerWrapperOptions(t *testing.T) {
	store, err := ratelimit.NewMemory[ratelimit.Key](ratelimit.MemoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rules := func() *ratelimit.Rules { return &ratelimit.Rules{Default: ratelimit.PerSecond(1, 1)} }
	tests := []struct {
		desc    string
		opts    HandlerOptions
		wantErr string
	}{
		{desc: "no service", opts: HandlerOptions{Store: store, Rules: rules}, wantErr: "Service is empty"},
		{desc: "no store", opts: HandlerOptions{Service: "orders", Rules: rules}, wantErr: "Store is nil"},
		{desc: "no rules", opts: HandlerOptions{Service: "orders", Store: store}, wantErr: "Rules is nil"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if _, err := NewHandlerWrapper(tt.opts); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("NewHandlerWrapper = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}
