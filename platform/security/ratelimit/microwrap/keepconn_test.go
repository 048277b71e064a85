package microwrap

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"go-micro.dev/v4/client"
	merrors "go-micro.dev/v4/errors"
	"go-micro.dev/v4/registry"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/bulwark-go/bulwark/platform/security/ratelimit"
)

// TestKeepConnOnRejection counts the server's TLS handshakes over one
// allowed call and five rejected ones. The go-micro gRPC client closes its
// connection after each error, so without KeepConnOnRejection every call
// after a rejection opens a new connection.
func TestKeepConnOnRejection(t *testing.T) {
	tests := []struct {
		desc           string
		opts           []client.Option
		wantHandshakes int64
	}{
		// The first connection serves calls 1 and 2; calls 3 to 6 each
		// follow a rejection and open a new one.
		{desc: "plugin default", wantHandshakes: 5},
		{desc: "kept", opts: KeepConnOnRejection(), wantHandshakes: 1},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			ts := startServer(t, serverConfig{rules: &ratelimit.Rules{Default: ratelimit.PerMinute(1, 1)}})
			c := ts.serviceClient(t, "gateway", tt.opts...)
			ctx := context.Background()
			if err := echo(ctx, c, "Greeter.Echo"); err != nil {
				t.Fatal(err)
			}
			for i := range 5 {
				err := echo(ctx, c, "Greeter.Echo")
				if microCode(err) != http.StatusTooManyRequests {
					t.Fatalf("call %d = %v, want 429", i+2, err)
				}
				if d, ok := RetryAfter(err); !ok || d != time.Minute {
					t.Fatalf("call %d RetryAfter = %s, %v; want 1m", i+2, d, ok)
				}
			}
			if got := ts.handshakes.Load(); got != tt.wantHandshakes {
				t.Fatalf("server saw %d TLS handshakes, want %d", got, tt.wantHandshakes)
			}
		})
	}
}

// TestKeepConnPassesOtherErrors checks that only rate-limit rejections are
// held back from the plugin: other errors reach the caller unchanged.
func TestKeepConnPassesOtherErrors(t *testing.T) {
	interceptor := RejectionInterceptor()
	wrapper := RejectionCallWrapper()
	other := status.Error(codes.PermissionDenied, "denied")
	limited := TooManyRequests("orders", "limited", time.Second)
	st, err := status.New(codes.ResourceExhausted, limited.Error()).WithDetails(limitedDetail(t, limited))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desc     string
		invokeEr error
		wantCode int32
		wantErr  error
	}{
		{desc: "other error", invokeEr: other, wantErr: other},
		{desc: "rate limit", invokeEr: st.Err(), wantCode: http.StatusTooManyRequests},
		{desc: "success", invokeEr: nil},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			var pluginSaw error
			call := wrapper(func(ctx context.Context, _ *registry.Node, _ client.Request, _ any, _ client.CallOptions) error {
				invoker := func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error {
					return tt.invokeEr
				}
				pluginSaw = interceptor(ctx, "/orders.Greeter/Echo", nil, nil, nil, invoker)
				return pluginSaw
			})
			got := call(context.Background(), nil, nil, nil, client.CallOptions{})
			switch {
			case tt.wantCode != 0:
				if pluginSaw != nil {
					t.Fatalf("plugin saw %v, want nil so it keeps the connection", pluginSaw)
				}
				if microCode(got) != tt.wantCode {
					t.Fatalf("caller got %v, want code %d", got, tt.wantCode)
				}
			case tt.wantErr != nil:
				if !errors.Is(got, tt.wantErr) || !errors.Is(pluginSaw, tt.wantErr) {
					t.Fatalf("caller got %v and plugin saw %v, want %v for both", got, pluginSaw, tt.wantErr)
				}
			default:
				if got != nil {
					t.Fatalf("caller got %v, want nil", got)
				}
			}
		})
	}
	// Without the wrapper's slot, the interceptor passes even a 429 on.
	invoker := func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error { return st.Err() }
	if err := interceptor(context.Background(), "/x.Y/Z", nil, nil, nil, invoker); err == nil {
		t.Fatal("interceptor without the call wrapper swallowed a 429")
	}
}

func limitedDetail(t *testing.T, err error) *merrors.Error {
	t.Helper()
	var merr *merrors.Error
	if !errors.As(err, &merr) {
		t.Fatalf("%v is not a go-micro error", err)
	}
	return merr
}
