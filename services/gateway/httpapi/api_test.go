package httpapi

import (
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// client sends requests to an API under test and decodes its responses.
type client struct {
	t   *testing.T
	api http.Handler
	inv interface {
		Stock(testing.TB, string) int64
	}
}

func newClient(t *testing.T, cfg Config) *client {
	t.Helper()
	b, inv := localBackends(t)
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	h, err := NewHandler(cfg, b)
	if err != nil {
		t.Fatalf("NewHandler: %v", err)
	}
	return &client{t: t, api: h, inv: inv}
}

type response struct {
	*httptest.ResponseRecorder
	body map[string]any
}

// do sends a request with a raw body; a non-empty body is sent as JSON.
func (c *client) do(method, path, token, body string) response {
	c.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, r)
	req.RemoteAddr = "192.0.2.10:5555"
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return c.send(req)
}

func (c *client) send(req *http.Request) response {
	c.t.Helper()
	rec := httptest.NewRecorder()
	c.api.ServeHTTP(rec, req)
	out := response{ResponseRecorder: rec}
	if rec.Body.Len() > 0 {
		if err := json.Unmarshal(rec.Body.Bytes(), &out.body); err != nil {
			c.t.Fatalf("%s %s: response body %q is not a JSON object: %v", req.Method, req.URL.Path, rec.Body, err)
		}
	}
	if ct := rec.Header().Get("Content-Type"); rec.Body.Len() > 0 && ct != "application/json; charset=utf-8" {
		c.t.Errorf("Content-Type = %q, want application/json; charset=utf-8", ct)
	}
	return out
}

// wantStatus checks the status and, for errors, the JSON error shape and the
// field it names.
func (r response) wantStatus(t *testing.T, status int, field string) {
	t.Helper()
	if r.Code != status {
		t.Fatalf("status = %d, want %d; body %s", r.Code, status, r.Body)
	}
	if status < 400 {
		return
	}
	e, ok := r.body["error"].(map[string]any)
	if !ok {
		t.Fatalf("error body %s has no error object", r.Body)
	}
	if code, _ := e["code"].(string); code == "" {
		t.Errorf("error body %s has no code", r.Body)
	}
	if msg, _ := e["message"].(string); msg == "" {
		t.Errorf("error body %s has no message", r.Body)
	}
	if got, _ := e["field"].(string); got != field {
		t.Errorf("error field = %q, want %q; body %s", got, field, r.Body)
	}
}

const password = "violet-harbor-31"

// signUp registers and logs in email and returns the session token.
func (c *client) signUp(email string) string {
	c.t.Helper()
	c.do("POST", "/v1/users", "", `{"email":"`+email+`","password":"`+password+`"}`).wantStatus(c.t, 201, "")
	rsp := c.do("POST", "/v1/sessions", "", `{"email":"`+email+`","password":"`+password+`"}`)
	rsp.wantStatus(c.t, 201, "")
	token, _ := rsp.body["token"].(string)
	if token == "" {
		c.t.Fatalf("login returned no token: %s", rsp.Body)
	}
	return token
}

func TestHealthz(t *testing.T) {
	c := newClient(t, Config{})
	rsp := c.do("GET", "/healthz", "", "")
	rsp.wantStatus(t, 200, "")
	if rsp.body["status"] != "ok" {
		t.Errorf("body = %s", rsp.Body)
	}
	if rsp.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Error("X-Content-Type-Options: nosniff is missing")
	}
}

func TestRegister(t *testing.T) {
	c := newClient(t, Config{})
	rsp := c.do("POST", "/v1/users", "", `{"email":"Ann@Example.com","password":"`+password+`"}`)
	rsp.wantStatus(t, 201, "")
	if rsp.body["email"] != "ann@example.com" || !strings.HasPrefix(rsp.body["user_id"].(string), "u_") {
		t.Errorf("body = %s", rsp.Body)
	}
	c.do("POST", "/v1/users", "", `{"email":"ann@example.com","password":"`+password+`"}`).wantStatus(t, 409, "email")
}

func TestRegisterBadInput(t *testing.T) {
	c := newClient(t, Config{})
	tests := []struct {
		desc   string
		body   string
		status int
		field  string
	}{
		{desc: "malformed JSON", body: `{"email":`, status: 400},
		{desc: "syntax error", body: `{"email" "x"}`, status: 400},
		{desc: "not an object", body: `["ann@example.com"]`, status: 400},
		{desc: "unknown field", body: `{"email":"a@example.com","password":"` + password + `","admin":true}`, status: 400, field: "admin"},
		{desc: "trailing data", body: `{"email":"a@example.com","password":"` + password + `"} {}`, status: 400},
		{desc: "wrong type", body: `{"email":42,"password":"` + password + `"}`, status: 400, field: "email"},
		{desc: "missing email", body: `{"password":"` + password + `"}`, status: 400, field: "email"},
		{desc: "missing password", body: `{"email":"a@example.com"}`, status: 400, field: "password"},
		{desc: "oversized email", body: `{"email":"` + strings.Repeat("a", 300) + `@example.com","password":"` + password + `"}`, status: 400, field: "email"},
		{desc: "oversized password", body: `{"email":"a@example.com","password":"` + strings.Repeat("p", 600) + `"}`, status: 400, field: "password"},
		{desc: "weak password", body: `{"email":"a@example.com","password":"short"}`, status: 400, field: "password"},
		{desc: "bad email", body: `{"email":"not-an-email","password":"` + password + `"}`, status: 400, field: "email"},
		{desc: "null", body: `null`, status: 400, field: "email"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			c.do("POST", "/v1/users", "", tt.body).wantStatus(t, tt.status, tt.field)
		})
	}
}

func TestBodyLimits(t *testing.T) {
	c := newClient(t, Config{MaxBodyBytes: 1024})
	huge := `{"email":"a@example.com","password":"` + strings.Repeat("x", 2048) + `"}`
	c.do("POST", "/v1/users", "", huge).wantStatus(t, 413, "")

	// A small object followed by a huge tail is also over the limit.
	tail := `{"email":"a@example.com","password":"` + password + `"}` + strings.Repeat(" ", 2048)
	c.do("POST", "/v1/users", "", tail).wantStatus(t, 413, "")

	req := httptest.NewRequest("POST", "/v1/users", strings.NewReader(`{}`))
	req.Header.Set("Content-Type", "text/plain")
	c.send(req).wantStatus(t, 415, "")
	req = httptest.NewRequest("POST", "/v1/users", strings.NewReader(`{}`))
	c.send(req).wantStatus(t, 415, "")
	req = httptest.NewRequest("POST", "/v1/users", strings.NewReader(""))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	c.send(req).wantStatus(t, 400, "")
}

func TestDefaultBodyLimit(t *testing.T) {
	c := newClient(t, Config{})
	huge := `{"email":"a@example.com","password":"` + strings.Repeat("x", DefaultMaxBodyBytes) + `"}`
	c.do("POST", "/v1/users", "", huge).wantStatus(t, 413, "")
}

func TestLoginAndLogout(t *testing.T) {
	c := newClient(t, Config{})
	token := c.signUp("ann@example.com")

	c.do("GET", "/v1/orders", token, "").wantStatus(t, 200, "")
	rsp := c.do("DELETE", "/v1/sessions/current", token, "")
	if rsp.Code != 204 || rsp.Body.Len() != 0 {
		t.Fatalf("logout = %d %q, want 204 with no body", rsp.Code, rsp.Body)
	}
	rsp = c.do("GET", "/v1/orders", token, "")
	rsp.wantStatus(t, 401, "")
	if rsp.Header().Get("WWW-Authenticate") == "" {
		t.Error("401 without WWW-Authenticate")
	}
	c.do("DELETE", "/v1/sessions/current", token, "").wantStatus(t, 401, "")
	c.do("DELETE", "/v1/sessions/current", "", "").wantStatus(t, 401, "")
}

func TestLoginFailuresUniform(t *testing.T) {
	c := newClient(t, Config{})
	c.signUp("ann@example.com")
	wrong := c.do("POST", "/v1/sessions", "", `{"email":"ann@example.com","password":"wrong-password-1"}`)
	unknown := c.do("POST", "/v1/sessions", "", `{"email":"bob@example.com","password":"wrong-password-1"}`)
	wrong.wantStatus(t, 401, "")
	unknown.wantStatus(t, 401, "")
	if wrong.Body.String() != unknown.Body.String() {
		t.Errorf("wrong password body %s differs from unknown user body %s", wrong.Body, unknown.Body)
	}
	c.do("POST", "/v1/sessions", "", `{"email":"ann@example.com"}`).wantStatus(t, 400, "password")
	c.do("POST", "/v1/sessions", "", `{"email":"ann@example.com","password":1}`).wantStatus(t, 400, "password")
}

// recordingLimiter allows the first n attempts and records the keys of
// attempts and of failures.
type recordingLimiter struct {
	mu       sync.Mutex
	n        int
	calls    [][2]string
	failures [][2]string
}

func (l *recordingLimiter) Failed(username, ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.failures = append(l.failures, [2]string{username, ip})
}

func (l *recordingLimiter) Allow(username, ip string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, [2]string{username, ip})
	return len(l.calls) <= l.n, 2500 * time.Millisecond
}

func TestLoginLimiter(t *testing.T) {
	limiter := &recordingLimiter{n: 2}
	c := newClient(t, Config{LoginLimiter: limiter})
	c.signUp("ann@example.com") // one attempt

	c.do("POST", "/v1/sessions", "", `{"email":"ann@example.com","password":"wrong-password-1"}`).wantStatus(t, 401, "")
	// The third attempt is rejected before the password is checked, even
	// with the right password and the email in other case.
	rsp := c.do("POST", "/v1/sessions", "", `{"email":" ANN@example.com","password":"`+password+`"}`)
	rsp.wantStatus(t, 429, "")
	if got := rsp.Header().Get("Retry-After"); got != "3" {
		t.Errorf("Retry-After = %q, want 3 (2.5s rounded up)", got)
	}
	if _, ok := rsp.body["token"]; ok {
		t.Error("rate-limited login returned a token")
	}
	for _, call := range limiter.calls {
		if call != [2]string{"ann@example.com", "192.0.2.10"} {
			t.Errorf("limiter key = %v, want [ann@example.com 192.0.2.10]", call)
		}
	}
	if len(limiter.calls) != 3 {
		t.Errorf("limiter calls = %d, want 3", len(limiter.calls))
	}
	// Only the wrong password counts as a failure: not the sign-up's
	// login, not the rate-limited attempt.
	if want := [][2]string{{"ann@example.com", "192.0.2.10"}}; !reflect.DeepEqual(limiter.failures, want) {
		t.Errorf("limiter failures = %v, want %v", limiter.failures, want)
	}
}

func TestProducts(t *testing.T) {
	c := newClient(t, Config{})
	rsp := c.do("GET", "/v1/products", "", "")
	rsp.wantStatus(t, 200, "")
	products, _ := rsp.body["products"].([]any)
	if len(products) != 5 {
		t.Fatalf("products = %d, want 5; body %s", len(products), rsp.Body)
	}
	first := products[0].(map[string]any)
	if first["id"] != "sku-1001" || first["price_cents"] != float64(1899) {
		t.Errorf("first product = %v", first)
	}
}

func TestAuthRequired(t *testing.T) {
	c := newClient(t, Config{})
	token := c.signUp("ann@example.com")
	routes := [][2]string{
		{"POST", "/v1/orders"}, {"GET", "/v1/orders"}, {"GET", "/v1/orders/o_0123456789abcdef0123456789abcdef"},
		{"POST", "/v1/orders/o_0123456789abcdef0123456789abcdef/cancel"}, {"DELETE", "/v1/sessions/current"},
	}
	headers := []struct {
		desc  string
		value string
	}{
		{desc: "none"},
		{desc: "basic scheme", value: "Basic YW5uOnB3"},
		{desc: "no token", value: "Bearer "},
		{desc: "garbage token", value: "Bearer not-a-token"},
		{desc: "oversized token", value: "Bearer " + strings.Repeat("A", 5000)},
		{desc: "token with space", value: "Bearer " + token + " x"},
	}
	for _, route := range routes {
		for _, h := range headers {
			t.Run(route[0]+" "+route[1]+" "+h.desc, func(t *testing.T) {
				req := httptest.NewRequest(route[0], route[1], nil)
				if h.value != "" {
					req.Header.Set("Authorization", h.value)
				}
				c.send(req).wantStatus(t, 401, "")
			})
		}
	}
	req := httptest.NewRequest("GET", "/v1/orders", nil)
	req.Header.Add("Authorization", "Bearer "+token)
	req.Header.Add("Authorization", "Bearer "+token)
	c.send(req).wantStatus(t, 401, "")
}

func TestOrdersFlow(t *testing.T) {
	c := newClient(t, Config{})
	ann := c.signUp("ann@example.com")
	bob := c.signUp("bob@example.com")

	rsp := c.do("POST", "/v1/orders", ann, `{"items":[{"product_id":"sku-1002","quantity":2}]}`)
	rsp.wantStatus(t, 201, "")
	order := rsp.body["order"].(map[string]any)
	id := order["id"].(string)
	if order["status"] != "placed" || order["total_cents"] != float64(2500) {
		t.Errorf("placed order = %v", order)
	}
	if _, ok := order["user_id"]; ok {
		t.Error("order response carries user_id")
	}
	if rsp.Header().Get("Location") != "/v1/orders/"+id {
		t.Errorf("Location = %q", rsp.Header().Get("Location"))
	}
	if got := c.inv.Stock(t, "sku-1002"); got != 23 {
		t.Errorf("stock = %d, want 23", got)
	}

	rsp = c.do("GET", "/v1/orders", ann, "")
	rsp.wantStatus(t, 200, "")
	if orders := rsp.body["orders"].([]any); len(orders) != 1 {
		t.Errorf("ann's orders = %d, want 1", len(orders))
	}
	rsp = c.do("GET", "/v1/orders", bob, "")
	if orders := rsp.body["orders"].([]any); len(orders) != 0 {
		t.Errorf("bob's orders = %d, want 0", len(orders))
	}

	c.do("GET", "/v1/orders/"+id, ann, "").wantStatus(t, 200, "")
	c.do("GET", "/v1/orders/"+id, bob, "").wantStatus(t, 404, "")
	c.do("POST", "/v1/orders/"+id+"/cancel", bob, "").wantStatus(t, 404, "")
	c.do("GET", "/v1/orders/not-an-id", ann, "").wantStatus(t, 404, "")
	c.do("GET", "/v1/orders/o_0123456789abcdef0123456789abcdef", ann, "").wantStatus(t, 404, "")

	c.do("POST", "/v1/orders/"+id+"/cancel", ann, `{"reason":"x"}`).wantStatus(t, 400, "reason")
	rsp = c.do("POST", "/v1/orders/"+id+"/cancel", ann, `{}`)
	rsp.wantStatus(t, 200, "")
	if rsp.body["order"].(map[string]any)["status"] != "cancelled" {
		t.Errorf("cancel body = %s", rsp.Body)
	}
	c.do("POST", "/v1/orders/"+id+"/cancel", ann, "").wantStatus(t, 200, "")
}

func TestPlaceOrderBadInput(t *testing.T) {
	c := newClient(t, Config{})
	token := c.signUp("ann@example.com")
	items := make([]string, 21)
	for i := range items {
		items[i] = `{"product_id":"sku-1001","quantity":1}`
	}
	tests := []struct {
		desc   string
		body   string
		status int
		field  string
	}{
		{desc: "malformed JSON", body: `{"items":[`, status: 400},
		{desc: "no items", body: `{"items":[]}`, status: 400, field: "items"},
		{desc: "missing items", body: `{}`, status: 400, field: "items"},
		{desc: "too many items", body: `{"items":[` + strings.Join(items, ",") + `]}`, status: 400, field: "items"},
		{desc: "negative quantity", body: `{"items":[{"product_id":"sku-1001","quantity":-1}]}`, status: 400, field: "items[0].quantity"},
		{desc: "quantity as string", body: `{"items":[{"product_id":"sku-1001","quantity":"2"}]}`, status: 400, field: "items.quantity"},
		{desc: "fractional quantity", body: `{"items":[{"product_id":"sku-1001","quantity":1.5}]}`, status: 400, field: "items.quantity"},
		{desc: "quantity overflow", body: `{"items":[{"product_id":"sku-1001","quantity":1e30}]}`, status: 400, field: "items.quantity"},
		{desc: "items not an array", body: `{"items":{"product_id":"sku-1001"}}`, status: 400, field: "items"},
		{desc: "unknown item field", body: `{"items":[{"product_id":"sku-1001","quantity":1,"price_cents":1}]}`, status: 400, field: "price_cents"},
		{desc: "oversized product id", body: `{"items":[{"product_id":"` + strings.Repeat("a", 100) + `","quantity":1}]}`, status: 400, field: "items[0].product_id"},
		{desc: "unknown product", body: `{"items":[{"product_id":"sku-9999","quantity":1}]}`, status: 400, field: "items[0].product_id"},
		{desc: "duplicate product", body: `{"items":[{"product_id":"sku-1001","quantity":1},{"product_id":"sku-1001","quantity":1}]}`, status: 400, field: "items[1].product_id"},
		{desc: "short stock", body: `{"items":[{"product_id":"sku-1005","quantity":2}]}`, status: 409, field: "items[0].quantity"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			c.do("POST", "/v1/orders", token, tt.body).wantStatus(t, tt.status, tt.field)
		})
	}
	if got := c.inv.Stock(t, "sku-1001"); got != 40 {
		t.Errorf("stock = %d after rejected orders, want 40", got)
	}
}

func TestUnknownRouteAndMethod(t *testing.T) {
	c := newClient(t, Config{})
	c.do("GET", "/v1/nothing", "", "").wantStatus(t, 404, "")
	c.do("GET", "/", "", "").wantStatus(t, 404, "")

	tests := []struct {
		method, path, allow string
	}{
		{method: "PUT", path: "/v1/users", allow: "POST"},
		{method: "GET", path: "/v1/sessions", allow: "POST"},
		{method: "DELETE", path: "/v1/orders", allow: "GET, HEAD, POST"},
		{method: "POST", path: "/healthz", allow: "GET, HEAD"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			rsp := c.do(tt.method, tt.path, "", "")
			rsp.wantStatus(t, 405, "")
			if got := rsp.Header().Get("Allow"); got != tt.allow {
				t.Errorf("Allow = %q, want %q", got, tt.allow)
			}
		})
	}
}

func TestMiddlewareSlots(t *testing.T) {
	var outer, inner []string
	var mu sync.Mutex
	cfg := Config{
		Middleware: func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				outer = append(outer, r.URL.Path)
				mu.Unlock()
				next.ServeHTTP(w, r)
			})
		},
		AuthenticatedMiddleware: func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				id, ok := UserIDFromContext(r.Context())
				if !ok {
					t.Error("AuthenticatedMiddleware ran without a user id")
				}
				mu.Lock()
				inner = append(inner, id)
				mu.Unlock()
				next.ServeHTTP(w, r)
			})
		},
	}
	c := newClient(t, cfg)
	token := c.signUp("ann@example.com")
	c.do("GET", "/v1/orders", token, "").wantStatus(t, 200, "")
	c.do("GET", "/v1/orders", "", "").wantStatus(t, 401, "")
	if len(outer) != 4 {
		t.Errorf("Middleware saw %d requests, want 4", len(outer))
	}
	if len(inner) != 1 || !strings.HasPrefix(inner[0], "u_") {
		t.Errorf("AuthenticatedMiddleware saw %v, want one user id", inner)
	}
}

func TestNewServerLimits(t *testing.T) {
	b, _ := localBackends(t)
	srv, err := NewServer(Config{Addr: "127.0.0.1:0", Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, b)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	if srv.ReadHeaderTimeout != DefaultReadHeaderTimeout || srv.ReadTimeout != DefaultReadTimeout ||
		srv.WriteTimeout != DefaultWriteTimeout || srv.IdleTimeout != DefaultIdleTimeout ||
		srv.MaxHeaderBytes != DefaultMaxHeaderBytes {
		t.Errorf("server limits = %v %v %v %v %d", srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout,
			srv.IdleTimeout, srv.MaxHeaderBytes)
	}
}

func TestConfigErrors(t *testing.T) {
	b, _ := localBackends(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	tests := []struct {
		desc string
		cfg  Config
		b    Backends
		want string
	}{
		{desc: "no log", cfg: Config{}, b: b, want: "Log is nil"},
		{desc: "negative timeout", cfg: Config{Log: log, ReadTimeout: -1}, b: b, want: "ReadTimeout"},
		{desc: "backend timeout too long", cfg: Config{Log: log, BackendTimeout: time.Minute}, b: b, want: "below WriteTimeout"},
		{desc: "negative body", cfg: Config{Log: log, MaxBodyBytes: -1}, b: b, want: "negative"},
		{desc: "no backends", cfg: Config{Log: log}, b: Backends{}, want: "required"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			_, err := NewHandler(tt.cfg, tt.b)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("NewHandler = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func startRealServer(t *testing.T, cfg Config) string {
	t.Helper()
	b, _ := localBackends(t)
	cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := NewServer(cfg, b)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(srv.Handler)
	ts.Config = srv
	ts.Start()
	t.Cleanup(ts.Close)
	return ts.URL
}

func TestRealServerHugeBody(t *testing.T) {
	url := startRealServer(t, Config{})
	body := `{"email":"a@example.com","password":"` + strings.Repeat("x", 4*DefaultMaxBodyBytes) + `"}`
	rsp, err := http.Post(url+"/v1/users", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	rsp.Body.Close()
	if rsp.StatusCode != 413 {
		t.Errorf("huge body over a real connection = %d, want 413", rsp.StatusCode)
	}
}

// TestRealServerSlowHeader shows that a client sending its header slowly is
// disconnected after ReadHeaderTimeout instead of holding the connection.
func TestRealServerSlowHeader(t *testing.T) {
	url := startRealServer(t, Config{ReadHeaderTimeout: 100 * time.Millisecond})
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n")); err != nil {
		t.Fatal(err)
	}
	if err := conn.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = io.ReadAll(conn)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("server kept a connection with an unfinished header open for %v", time.Since(start))
	}
}
