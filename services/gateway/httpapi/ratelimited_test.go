package httpapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
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
