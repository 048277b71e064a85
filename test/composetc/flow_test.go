package composetc

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// TestComposeStack starts one compose stack and runs every check against
// it. The subtests run in order: the burst comes after the order flow, so
// that the flow's requests stay inside the gateway's per-address budget,
// and the lifted limit comes last because it replaces the gateway.
func TestComposeStack(t *testing.T) {
	s, ctx := startStack(t)

	t.Run("order flow through the gateway", func(t *testing.T) { testOrderFlow(ctx, t, s) })
	t.Run("only the gateway publishes a port", func(t *testing.T) { testPublishedPorts(ctx, t, s) })
	t.Run("containers mount only their own state", func(t *testing.T) { testMounts(ctx, t, s) })
	t.Run("Redis requires the password", func(t *testing.T) { testRedisRequiresPassword(t, s) })
	t.Run("burst gets 429 with Retry-After", func(t *testing.T) { testBurst(ctx, t, s) })
	t.Run("bulwark verify passes", func(t *testing.T) { testVerify(ctx, t, s) })
	t.Run("verify fails with lifted limit", func(t *testing.T) { testVerifyCatchesLiftedLimit(ctx, t, s) })
}

// response is a gateway response with its decoded JSON body.
type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

// order returns the "order" object of an order response.
func (r response) order() map[string]any {
	order, _ := r.body["order"].(map[string]any)
	return order
}

// call sends one request to the published gateway port. token, when set,
// goes in the Authorization header.
func (s *stack) call(ctx context.Context, t *testing.T, method, path, token string, body any) response {
	t.Helper()
	var reader io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		reader = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.gatewayURL+path, reader)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatalf("%s %s: read the body: %v", method, path, err)
	}
	r := response{status: resp.StatusCode, header: resp.Header, raw: string(data)}
	if len(data) > 0 {
		if err := json.Unmarshal(data, &r.body); err != nil {
			t.Fatalf("%s %s: body is not a JSON object: %v: %s", method, path, err, data)
		}
	}
	return r
}

// must sends a request and fails the test unless the status is want.
func (s *stack) must(ctx context.Context, t *testing.T, method, path, token string, body any, want int) response {
	t.Helper()
	r := s.call(ctx, t, method, path, token, body)
	if r.status != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.status, want, r.raw)
	}
	return r
}

// stock returns the listed stock of a product.
func (s *stack) stock(ctx context.Context, t *testing.T, productID string) int {
	t.Helper()
	r := s.must(ctx, t, "GET", "/v1/products", "", nil, http.StatusOK)
	products, _ := r.body["products"].([]any)
	for _, p := range products {
		product, _ := p.(map[string]any)
		if product["id"] == productID {
			n, ok := product["stock"].(float64)
			if !ok {
				t.Fatalf("product %s has no numeric stock: %s", productID, r.raw)
			}
			return int(n)
		}
	}
	t.Fatalf("product %s is not listed: %s", productID, r.raw)
	return 0
}

func testOrderFlow(ctx context.Context, t *testing.T, s *stack) {
	const product = "sku-1004"
	credentials := map[string]string{
		"email":    fmt.Sprintf("composetc-%d@example.com", time.Now().UnixNano()),
		"password": "correct horse battery staple",
	}
	s.must(ctx, t, "POST", "/v1/users", "", credentials, http.StatusCreated)
	session := s.must(ctx, t, "POST", "/v1/sessions", "", credentials, http.StatusCreated)
	token, _ := session.body["token"].(string)
	if token == "" {
		t.Fatalf("login returned no token: %s", session.raw)
	}

	before := s.stock(ctx, t, product)
	if before < 2 {
		t.Fatalf("stock of %s is %d, want at least 2 in a new stack", product, before)
	}
	order := map[string]any{"items": []map[string]any{{"product_id": product, "quantity": 2}}}
	placed := s.must(ctx, t, "POST", "/v1/orders", token, order, http.StatusCreated)
	id, _ := placed.order()["id"].(string)
	if id == "" {
		t.Fatalf("placed order has no id: %s", placed.raw)
	}
	if got := s.stock(ctx, t, product); got != before-2 {
		t.Errorf("stock of %s after the order = %d, want %d", product, got, before-2)
	}

	listed := s.must(ctx, t, "GET", "/v1/orders", token, nil, http.StatusOK)
	if !bytes.Contains([]byte(listed.raw), []byte(id)) {
		t.Errorf("order %s missing from GET /v1/orders: %s", id, listed.raw)
	}
	s.must(ctx, t, "GET", "/v1/orders", "", nil, http.StatusUnauthorized)

	cancelled := s.must(ctx, t, "POST", "/v1/orders/"+id+"/cancel", token, nil, http.StatusOK)
	if status, _ := cancelled.order()["status"].(string); status != "cancelled" {
		t.Errorf("order status after cancel = %q, want cancelled: %s", status, cancelled.raw)
	}
	// The order.cancelled event reaches inventory through the outbox and
	// the mTLS broker, so the stock returns shortly after the response.
	// One poll a second stays well inside the per-address limit.
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := s.stock(ctx, t, product)
		if got == before {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stock of %s is %d 30 s after the cancel, want %d", product, got, before)
		}
		time.Sleep(time.Second)
	}
}

func testBurst(ctx context.Context, t *testing.T, s *stack) {
	// infra/ratelimit/gateway.yaml allows a burst of 20 per client address
	// and refills 10 a second, so 30 requests in a row exceed it.
	const requests = 30
	allowed := 0
	var rejected *response
	for range requests {
		r := s.call(ctx, t, "GET", "/v1/products", "", nil)
		switch r.status {
		case http.StatusOK:
			allowed++
		case http.StatusTooManyRequests:
			if rejected == nil {
				rejected = &r
			}
		default:
			t.Fatalf("burst request: status %d, want 200 or 429: %s", r.status, r.raw)
		}
	}
	if rejected == nil {
		t.Fatalf("%d requests from one address got no 429 (%d allowed)", requests, allowed)
	}
	if allowed == 0 {
		t.Error("the burst got no request through; the burst allowance is missing")
	}

	retryAfter := rejected.header.Get("Retry-After")
	seconds, err := strconv.Atoi(retryAfter)
	if err != nil || seconds < 1 || seconds > 2 {
		t.Fatalf("Retry-After = %q, want 1 or 2 seconds at a refill of 10 a second", retryAfter)
	}
	errorBody, _ := rejected.body["error"].(map[string]any)
	if code, _ := errorBody["code"].(string); code != "rate_limited" {
		t.Errorf("429 error.code = %q, want rate_limited: %s", code, rejected.raw)
	}

	// Retry-After is accurate: after it, the same address is served again.
	time.Sleep(time.Duration(seconds) * time.Second)
	s.must(ctx, t, "GET", "/v1/products", "", nil, http.StatusOK)
}
