package httplimit_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"

	"github.com/bulwark-go/bulwark/platform/security/ratelimit"
	"github.com/bulwark-go/bulwark/platform/security/ratelimit/httplimit"
)

func Example() {
	store, err := ratelimit.NewMemory[ratelimit.Key](ratelimit.MemoryOptions{})
	if err != nil {
		panic(err)
	}
	resolver, err := httplimit.NewClientIPResolver(httplimit.ClientIPOptions{
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
	})
	if err != nil {
		panic(err)
	}
	rules := &ratelimit.Rules{Default: ratelimit.PerMinute(2, 2)}
	limiter, err := httplimit.New(httplimit.Options{
		Store:    store,
		Rules:    func() *ratelimit.Rules { return rules },
		ClientIP: resolver,
	})
	if err != nil {
		panic(err)
	}
	handler := limiter.Handler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "hello")
	}))

	for range 3 {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = "10.0.0.1:52000"                // the trusted proxy
		r.Header.Set("X-Forwarded-For", "203.0.113.7") // the client it saw
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, r)
		fmt.Printf("%d remaining=%s retry-after=%s\n",
			w.Code, w.Header().Get("RateLimit-Remaining"), w.Header().Get("Retry-After"))
	}
	// Output:
	// 200 remaining=1 retry-after=
	// 200 remaining=0 retry-after=
	// 429 remaining=0 retry-after=30
}
