package microwrap

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"testing"

	"go-micro.dev/v4/client"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"

	"github.com/bulwark-go/bulwark/platform/security/ratelimit"
)

// BenchmarkCall measures a go-micro call over mTLS on loopback: allowed,
// rejected by the rate limit with the plugin's default of closing the
// connection after an error, and rejected with KeepConnOnRejection.
func BenchmarkCall(b *testing.B) {
	tests := []struct {
		desc  string
		limit ratelimit.Limit
		opts  []client.Option
		want  int32
	}{
		{desc: "allowed", limit: ratelimit.Limit{Rate: 1_000_000_000, Per: 1e9, Burst: ratelimit.MaxBurst}},
		{desc: "rejected/plugin-default", limit: ratelimit.PerHour(1, 1), want: http.StatusTooManyRequests},
		{desc: "rejected/keep-conn", limit: ratelimit.PerHour(1, 1), opts: KeepConnOnRejection(), want: http.StatusTooManyRequests},
	}
	for _, tt := range tests {
		b.Run(tt.desc, func(b *testing.B) {
			ts := startServer(b, serverConfig{rules: &ratelimit.Rules{Default: tt.limit}})
			c := ts.serviceClient(b, "gateway", tt.opts...)
			ctx := context.Background()
			if err := echo(ctx, c, "Greeter.Echo"); err != nil {
				b.Fatal(err)
			}
			start := ts.handshakes.Load()
			b.ReportAllocs()
			for b.Loop() {
				if got := microCode(echo(ctx, c, "Greeter.Echo")); got != tt.want {
					b.Fatalf("code %d, want %d", got, tt.want)
				}
			}
			b.ReportMetric(float64(ts.handshakes.Load()-start)/float64(b.N), "handshakes/op")
		})
	}
}

// BenchmarkHandlerCheck measures the handler wrapper's decision alone: the
// caller's identity from the verified certificate, the rules, the store and
// the metrics.
func BenchmarkHandlerCheck(b *testing.B) {
	ts := startServer(b, serverConfig{rules: &ratelimit.Rules{Default: ratelimit.PerSecond(1, 1)}})
	leaf := ts.ca.Leaf(b, "gateway").Leaf
	state := tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{leaf, ts.ca.Cert}}}
	ctx := peer.NewContext(context.Background(), &peer.Peer{
		Addr:     &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1},
		AuthInfo: credentials.TLSInfo{State: state},
	})
	rules := &ratelimit.Rules{Default: ratelimit.Limit{Rate: 1_000_000_000, Per: 1e9, Burst: ratelimit.MaxBurst}}
	store, err := ratelimit.NewMemory[ratelimit.Key](ratelimit.MemoryOptions{})
	if err != nil {
		b.Fatal(err)
	}
	h, err := newHandlerLimiter(HandlerOptions{
		Service: serverName, Store: store, Rules: func() *ratelimit.Rules { return rules }, Metrics: ts.metrics,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := h.check(ctx, "Greeter.Echo"); err != nil {
			b.Fatal(err)
		}
	}
}
