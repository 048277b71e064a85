package services_test

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// addressCounter hands out a distinct client address to each apiClient.
var addressCounter atomic.Uint32

// nextAddress returns a new address from 10.0.0.0/8 for X-Forwarded-For.
func nextAddress() string {
	n := addressCounter.Add(1)
	return fmt.Sprintf("10.%d.%d.%d", (n>>16)&255, (n>>8)&255, n&255)
}

// apiClient calls the gateway over HTTPS, verifying its certificate against
// the root CA, as one client address.
type apiClient struct {
	t       *testing.T
	base    string
	http    *http.Client
	address string // sent in X-Forwarded-For; the gateway trusts loopback as a proxy
	// rotate sends each request from a new address, so that only the
	// per-user and per-email budgets apply.
	rotate bool
}

// response is one decoded gateway response.
type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

// errorField returns error.field of an error response.
func (r response) errorField() string { return r.errorValue("field") }

// errorMessage returns error.message of an error response.
func (r response) errorMessage() string { return r.errorValue("message") }

func (r response) errorValue(key string) string {
	e, _ := r.body["error"].(map[string]any)
	v, _ := e[key].(string)
	return v
}

func (st *stack) client(t *testing.T) *apiClient {
	return &apiClient{
		t:    t,
		base: st.gatewayURL,
		http: &http.Client{
			Timeout: 30 * time.Second,
			Transport: &http.Transport{
				TLSClientConfig: &tls.Config{RootCAs: st.env.CAPool, MinVersion: tls.VersionTLS12},
			},
		},
		address: nextAddress(),
	}
}

// do sends one request with an optional bearer token and JSON body.
func (c *apiClient) do(method, path, token, body string) response {
	c.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	return c.send(method, path, token, r, "application/json")
}

// send sends one request with any body and content type.
func (c *apiClient) send(method, path, token string, body io.Reader, contentType string) response {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	address := c.address
	if c.rotate {
		address = nextAddress()
	}
	req.Header.Set("X-Forwarded-For", address)
	rsp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer rsp.Body.Close()
	raw, err := io.ReadAll(rsp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	out := response{status: rsp.StatusCode, header: rsp.Header, raw: string(raw), body: map[string]any{}}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out.body); err != nil {
			c.t.Fatalf("%s %s: status %d, body is not a JSON object: %q", method, path, rsp.StatusCode, raw)
		}
	}
	return out
}

// must sends a request and fails the test unless the status is want.
func (c *apiClient) must(method, path, token, body string, want int) response {
	c.t.Helper()
	rsp := c.do(method, path, token, body)
	if rsp.status != want {
		c.t.Fatalf("%s %s = %d %s, want %d", method, path, rsp.status, rsp.raw, want)
	}
	return rsp
}

// signUp registers a new user and logs in, returning the session token.
func (c *apiClient) signUp(name string) string {
	c.t.Helper()
	email := fmt.Sprintf("%s-%d@example.com", name, time.Now().UnixNano())
	creds := fmt.Sprintf(`{"email":%q,"password":"violet-harbor-31"}`, email)
	c.must("POST", "/v1/users", "", creds, http.StatusCreated)
	session := c.must("POST", "/v1/sessions", "", creds, http.StatusCreated)
	token, _ := session.body["token"].(string)
	if token == "" {
		c.t.Fatalf("login returned no token: %s", session.raw)
	}
	return token
}

// stock returns the listed stock of a product.
func (c *apiClient) stock(productID string) int {
	c.t.Helper()
	rsp := c.must("GET", "/v1/products", "", "", http.StatusOK)
	products, _ := rsp.body["products"].([]any)
	for _, p := range products {
		product, _ := p.(map[string]any)
		if product["id"] == productID {
			n, _ := product["stock"].(float64)
			return int(n)
		}
	}
	c.t.Fatalf("product %s is not listed: %s", productID, rsp.raw)
	return 0
}

// orderID returns order.id of an order response.
func orderID(t *testing.T, rsp response) string {
	t.Helper()
	order, _ := rsp.body["order"].(map[string]any)
	id, _ := order["id"].(string)
	if id == "" {
		t.Fatalf("response has no order id: %s", rsp.raw)
	}
	return id
}

// orderStatus returns order.status of an order response.
func orderStatus(rsp response) string {
	order, _ := rsp.body["order"].(map[string]any)
	status, _ := order["status"].(string)
	return status
}
