package httplimit

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/bulwark-go/bulwark/platform/security/ratelimit"
)

// BenchmarkMiddleware measures the middleware around an empty handler for a
// request from behind a trusted proxy: client address resolution, store,
// headers and metrics-free decision.
func BenchmarkMiddleware(b *testing.B) {
	store, err := ratelimit.NewMemory[ratelimit.Key](ratelimit.MemoryOptions{})
	if err != nil {
		b.Fatal(err)
	}
	resolver, err := NewClientIPResolver(ClientIPOptions{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	if err != nil {
		b.Fatal(err)
	}
	rules := &ratelimit.Rules{Default: ratelimit.Limit{Rate: 1_000_000_000, Per: 1e9, Burst: ratelimit.MaxBurst}}
	m, err := New(Options{Store: store, Rules: func() *ratelimit.Rules { return rules }, ClientIP: resolver})
	if err != nil {
		b.Fatal(err)
	}
	h := m.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	r := httptest.NewRequest(http.MethodGet, "/orders", nil)
	r.RemoteAddr = "10.0.0.1:52000"
	r.Header.Set("X-Forwarded-For", "198.51.100.1, 203.0.113.7")
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
}
