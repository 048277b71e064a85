package httpapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/platform/security/ratelimit"
)

func TestWriteRateLimitedUsesErrorFormat(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteRateLimited(rec, httptest.NewRequest(http.MethodGet, "/v1/products", nil),
		ratelimit.Result{RetryAfter: 2 * time.Second})

	if rec.Code != http.StatusTooManyRequests {
		t.Errorf("status = %d, want 429", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type = %q, want application/json; charset=utf-8", ct)
	}
	var body errorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %q is not the error format: %v", rec.Body.String(), err)
	}
	if body.Error.Code != "rate_limited" {
		t.Errorf("error.code = %q, want rate_limited", body.Error.Code)
	}
	if body.Error.Message == "" {
		t.Error("error.message is empty")
	}
}

func TestRouteOf(t *testing.T) {
	tests := []struct {
		method, target, want string
	}{
		{"POST", "/v1/users", "POST /v1/users"},
		{"GET", "/v1/orders/0123", "GET /v1/orders/{id}"},
		{"POST", "/v1/orders/0123/cancel", "POST /v1/orders/{id}/cancel"},
		{"HEAD", "/v1/products", "GET /v1/products"},
		{"GET", "/v1/users", ""},
		{"GET", "/v1/admin", ""},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(tt.method, tt.target, nil)
		if got := RouteOf(r); got != tt.want {
			t.Errorf("RouteOf(%s %s) = %q, want %q", tt.method, tt.target, got, tt.want)
		}
	}
	for _, name := range Routes() {
		method, path, _ := strings.Cut(name, " ")
		path = strings.ReplaceAll(path, "{id}", "0123")
		if got := RouteOf(httptest.NewRequest(method, path, nil)); got != name {
			t.Errorf("RouteOf of route %s = %q", name, got)
		}
	}
}
