package httplimit

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/platform/security/internal/clock"
	"github.com/bulwark-go/bulwark/platform/security/ratelimit"
)

var testEpoch = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

type rig struct {
	clock   *clock.Fake
	store   *ratelimit.Memory[ratelimit.Key]
	handler http.Handler
	served  int
}

func newRig(t *testing.T, rules *ratelimit.Rules, opts Options) *rig {
	t.Helper()
	rg := &rig{clock: clock.NewFake(testEpoch)}
	var err error
	if rg.store, err = ratelimit.NewMemory[ratelimit.Key](ratelimit.MemoryOptions{Clock: rg.clock}); err != nil {
		t.Fatal(err)
	}
	if opts.Store == nil {
		opts.Store = rg.store
	}
	opts.Rules = func() *ratelimit.Rules { return rules }
	if opts.ClientIP == nil {
		opts.ClientIP = mustResolver(t, ClientIPOptions{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	}
	m, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	rg.handler = m.Handler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		rg.served++
		w.WriteHeader(http.StatusNoContent)
	}))
	return rg
}

func (rg *rig) do(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	rg.handler.ServeHTTP(w, r)
	return w
}

func TestMiddlewareRejectsWithHeaders(t *testing.T) {
	rules := &ratelimit.Rules{Default: ratelimit.PerMinute(1, 2)} // interval 60s, burst 2
	rg := newRig(t, rules, Options{})
	from := func() *http.Request { return request("198.51.100.9:4000", "X-Other") }

	first := rg.do(from())
	if first.Code != http.StatusNoContent {
		t.Fatalf("first request: status %d", first.Code)
	}
	wantHeaders(t, "first", first.Header(), map[string]string{
		"RateLimit-Limit": "2", "RateLimit-Remaining": "1", "RateLimit-Reset": "60", "Retry-After": "",
	})
	rg.do(from())
	rejected := rg.do(from())
	if rejected.Code != http.StatusTooManyRequests {
		t.Fatalf("third request: status %d, want 429", rejected.Code)
	}
	wantHeaders(t, "rejected", rejected.Header(), map[string]string{
		"Retry-After": "60", "RateLimit-Limit": "2", "RateLimit-Remaining": "0", "RateLimit-Reset": "120",
	})
	var body rejectionBody
	if err := json.Unmarshal(rejected.Body.Bytes(), &body); err != nil || body.RetryAfterSeconds != 60 {
		t.Fatalf("body %q: %v; want retry_after_seconds 60", rejected.Body, err)
	}

	// Half a second before the budget returns, Retry-After is rounded up
	// to 1, never down to 0 and never the whole minute.
	rg.clock.Advance(59*time.Second + 500*time.Millisecond)
	almost := rg.do(from())
	wantHeaders(t, "almost", almost.Header(), map[string]string{"Retry-After": "1"})
	rg.clock.Advance(500 * time.Millisecond)
	if again := rg.do(from()); again.Code != http.StatusNoContent {
		t.Fatalf("request after Retry-After: status %d", again.Code)
	}
	if rg.served != 3 {
		t.Fatalf("handler served %d requests, want 3", rg.served)
	}
}

func TestMiddlewareIETFHeaders(t *testing.T) {
	rg := newRig(t, &ratelimit.Rules{Default: ratelimit.PerSecond(10, 5)}, Options{Headers: HeadersIETF})
	w := rg.do(request("198.51.100.9:4000", "X-Other"))
	wantHeaders(t, "ietf", w.Header(), map[string]string{
		"RateLimit-Policy": `"default";q=5;w=1`, "RateLimit": `"default";r=4;t=1`, "RateLimit-Limit": "",
	})
	none := newRig(t, &ratelimit.Rules{Default: ratelimit.PerSecond(10, 5)}, Options{Headers: HeadersNone})
	w = none.do(request("198.51.100.9:4000", "X-Other"))
	wantHeaders(t, "none", w.Header(), map[string]string{"RateLimit-Policy": "", "RateLimit-Limit": ""})
}

// TestMiddlewareForwardedKeys shows that an untrusted client cannot pick
// its key with X-Forwarded-For, and that a trusted proxy's header does
// separate the clients behind it.
func TestMiddlewareForwardedKeys(t *testing.T) {
	rg := newRig(t, &ratelimit.Rules{Default: ratelimit.PerMinute(1, 1)}, Options{})

	if w := rg.do(request("198.51.100.9:4000", "X-Forwarded-For", "203.0.113.1")); w.Code != http.StatusNoContent {
		t.Fatalf("first direct request: status %d", w.Code)
	}
	if w := rg.do(request("198.51.100.9:4000", "X-Forwarded-For", "203.0.113.2")); w.Code != http.StatusTooManyRequests {
		t.Fatalf("direct request with a new spoofed X-Forwarded-For: status %d, want 429", w.Code)
	}

	if w := rg.do(request("10.0.0.1:4000", "X-Forwarded-For", "203.0.113.1")); w.Code != http.StatusNoContent {
		t.Fatalf("first client behind the proxy: status %d", w.Code)
	}
	if w := rg.do(request("10.0.0.1:4000", "X-Forwarded-For", "203.0.113.2")); w.Code != http.StatusNoContent {
		t.Fatalf("second client behind the proxy: status %d, want its own budget", w.Code)
	}
	if w := rg.do(request("10.0.0.1:4000", "X-Forwarded-For", "203.0.113.1")); w.Code != http.StatusTooManyRequests {
		t.Fatalf("first client again: status %d, want 429", w.Code)
	}
}

func TestMiddlewareClientKey(t *testing.T) {
	rules := &ratelimit.Rules{
		Default: ratelimit.PerMinute(1, 1),
		Callers: map[string]ratelimit.Limit{ratelimit.ClassClient: ratelimit.PerMinute(2, 2)},
	}
	clientKey := func(r *http.Request) (string, bool) {
		key := r.Header.Get("X-Test-User")
		return key, key != ""
	}
	rg := newRig(t, rules, Options{ClientKey: clientKey})
	as := func(user, remote string) *http.Request {
		r := request(remote, "X-Other")
		if user != "" {
			r.Header.Set("X-Test-User", user)
		}
		return r
	}
	for i, remote := range []string{"198.51.100.1:1", "198.51.100.2:1"} {
		if w := rg.do(as("alice", remote)); w.Code != http.StatusNoContent {
			t.Fatalf("alice request %d: status %d", i+1, w.Code)
		}
	}
	if w := rg.do(as("alice", "198.51.100.3:1")); w.Code != http.StatusTooManyRequests {
		t.Fatalf("alice from a third address: status %d, want 429 from her one budget", w.Code)
	}
	if w := rg.do(as("bob", "198.51.100.1:1")); w.Code != http.StatusNoContent {
		t.Fatalf("bob: status %d, want his own budget", w.Code)
	}
	if w := rg.do(as("", "198.51.100.1:1")); w.Code != http.StatusNoContent {
		t.Fatalf("anonymous request from alice's address: status %d, want the IP budget", w.Code)
	}
	if w := rg.do(as("", "198.51.100.1:1")); w.Code != http.StatusTooManyRequests {
		t.Fatalf("second anonymous request: status %d, want 429 under the default limit", w.Code)
	}
}

func TestMiddlewareRouteBudget(t *testing.T) {
	rules := &ratelimit.Rules{
		Default:   ratelimit.PerMinute(1, 1),
		Endpoints: map[string]ratelimit.Limit{"POST /login": ratelimit.PerMinute(1, 1)},
	}
	route := func(r *http.Request) string { return r.Method + " " + r.URL.Path }
	rg := newRig(t, rules, Options{Route: route})
	req := func(method, path string) *http.Request {
		r := httptest.NewRequest(method, path, nil)
		r.RemoteAddr = "198.51.100.9:4000"
		return r
	}
	if w := rg.do(req(http.MethodGet, "/orders")); w.Code != http.StatusNoContent {
		t.Fatalf("GET /orders: %d", w.Code)
	}
	if w := rg.do(req(http.MethodGet, "/products")); w.Code != http.StatusTooManyRequests {
		t.Fatalf("GET /products: %d, want 429 from the shared budget", w.Code)
	}
	if w := rg.do(req(http.MethodPost, "/login")); w.Code != http.StatusNoContent {
		t.Fatalf("POST /login: %d, want its own budget", w.Code)
	}
}

// TestMiddlewareGlobalRouteBudget floods one route from many addresses,
// each within its own budget: the route's global budget rejects the flood,
// other routes are unaffected, and a client over its own budget spends
// nothing of the global one.
func TestMiddlewareGlobalRouteBudget(t *testing.T) {
	rules := &ratelimit.Rules{
		Default:   ratelimit.PerMinute(100, 100),
		Endpoints: map[string]ratelimit.Limit{"POST /users": ratelimit.PerMinute(2, 2)},
		Pairs:     map[string]map[string]ratelimit.Limit{"POST /users": {ClassGlobal: ratelimit.PerMinute(5, 5)}},
	}
	route := func(r *http.Request) string { return r.Method + " " + r.URL.Path }
	rg := newRig(t, rules, Options{Route: route})
	req := func(method, path, remote string) *http.Request {
		r := httptest.NewRequest(method, path, nil)
		r.RemoteAddr = remote
		return r
	}

	// One address spends its own budget of 2; its third request is
	// rejected by that budget and must not spend the global one.
	for i := range 3 {
		w := rg.do(req(http.MethodPost, "/users", "198.51.100.1:1"))
		want := http.StatusNoContent
		if i == 2 {
			want = http.StatusTooManyRequests
		}
		if w.Code != want {
			t.Fatalf("request %d from one address: status %d, want %d", i+1, w.Code, want)
		}
	}
	// Three more addresses: the global budget of 5 has 3 left.
	for i, remote := range []string{"198.51.100.2:1", "198.51.100.3:1", "198.51.100.4:1"} {
		if w := rg.do(req(http.MethodPost, "/users", remote)); w.Code != http.StatusNoContent {
			t.Fatalf("request %d within the global budget: status %d", i+1, w.Code)
		}
	}
	rejected := rg.do(req(http.MethodPost, "/users", "198.51.100.5:1"))
	if rejected.Code != http.StatusTooManyRequests {
		t.Fatalf("sixth request to the route from a fresh address: status %d, want 429 from the global budget", rejected.Code)
	}
	wantHeaders(t, "global rejection", rejected.Header(), map[string]string{
		"Retry-After": "12", "RateLimit-Limit": "5", "RateLimit-Remaining": "0",
	})
	if w := rg.do(req(http.MethodGet, "/products", "198.51.100.5:1")); w.Code != http.StatusNoContent {
		t.Fatalf("other route during the flood: status %d, want 204", w.Code)
	}
	rg.clock.Advance(12 * time.Second)
	if w := rg.do(req(http.MethodPost, "/users", "198.51.100.5:1")); w.Code != http.StatusNoContent {
		t.Fatalf("request after Retry-After: status %d, want 204", w.Code)
	}
}

// TestMiddlewareGlobalOnlyKeepsSharedBudget gives a route only a global
// limit: its per-client requests still share the budget of the other
// routes, so the global limit adds no budget of its own.
func TestMiddlewareGlobalOnlyKeepsSharedBudget(t *testing.T) {
	rules := &ratelimit.Rules{
		Default: ratelimit.PerMinute(1, 1),
		Pairs:   map[string]map[string]ratelimit.Limit{"POST /users": {ClassGlobal: ratelimit.PerMinute(100, 100)}},
	}
	route := func(r *http.Request) string { return r.Method + " " + r.URL.Path }
	rg := newRig(t, rules, Options{Route: route})
	get := httptest.NewRequest(http.MethodGet, "/products", nil)
	get.RemoteAddr = "198.51.100.1:1"
	if w := rg.do(get); w.Code != http.StatusNoContent {
		t.Fatalf("GET /products: status %d", w.Code)
	}
	post := httptest.NewRequest(http.MethodPost, "/users", nil)
	post.RemoteAddr = "198.51.100.1:1"
	if w := rg.do(post); w.Code != http.StatusTooManyRequests {
		t.Fatalf("POST /users after the shared budget is spent: status %d, want 429", w.Code)
	}
}

type failingStore struct{}

func (failingStore) Take(context.Context, ratelimit.Key, ratelimit.Limit, time.Duration) (ratelimit.Result, error) {
	return ratelimit.Result{}, errors.New("store down")
}

func TestMiddlewareStoreFailure(t *testing.T) {
	rg := newRig(t, &ratelimit.Rules{Default: ratelimit.PerSecond(1, 1)}, Options{Store: failingStore{}})
	w := rg.do(request("198.51.100.9:4000", "X-Other"))
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", w.Code)
	}
	if strings.Contains(w.Body.String(), "store down") {
		t.Fatalf("body %q shows the store error", w.Body)
	}
	wantHeaders(t, "failure", w.Header(), map[string]string{"Retry-After": "1"})
}

func TestNewMiddlewareErrors(t *testing.T) {
	store, err := ratelimit.NewMemory[ratelimit.Key](ratelimit.MemoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rules := func() *ratelimit.Rules { return &ratelimit.Rules{Default: ratelimit.PerSecond(1, 1)} }
	ip := mustResolver(t, ClientIPOptions{})
	tests := []struct {
		desc    string
		opts    Options
		wantErr string
	}{
		{desc: "no store", opts: Options{Rules: rules, ClientIP: ip}, wantErr: "Store is nil"},
		{desc: "no rules", opts: Options{Store: store, ClientIP: ip}, wantErr: "Rules is nil"},
		{desc: "no resolver", opts: Options{Store: store, Rules: rules}, wantErr: "ClientIP is nil"},
		{desc: "bad header style", opts: Options{Store: store, Rules: rules, ClientIP: ip, Headers: 7}, wantErr: "Headers 7"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if _, err := New(tt.opts); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestRetryAfterSecondsNeverZero(t *testing.T) {
	for _, wait := range []time.Duration{time.Nanosecond, 999 * time.Millisecond, time.Second, 1001 * time.Millisecond} {
		got := RetryAfterSeconds(ratelimit.Result{RetryAfter: wait})
		want := int64((wait + time.Second - 1) / time.Second)
		if got != want || got < 1 {
			t.Fatalf("RetryAfterSeconds(%s) = %d, want %d", wait, got, want)
		}
	}
}

// wantHeaders checks each header; an empty value means absent.
func wantHeaders(t *testing.T, desc string, h http.Header, want map[string]string) {
	t.Helper()
	for name, value := range want {
		if got := h.Get(name); got != value {
			t.Errorf("%s: header %s = %q, want %q", desc, name, got, value)
		}
	}
}
