package httpapi

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/services/internal/rpc"
	inventoryapi "github.com/bulwark-go/bulwark/services/inventory/api"
	merrors "go-micro.dev/v4/errors"
)

// failingProducts returns err from every call, or panics when err is nil.
type failingProducts struct{ err error }

func (f failingProducts) ListProducts(context.Context, *inventoryapi.ListProductsRequest) (*inventoryapi.ListProductsResponse, error) {
	if f.err == nil {
		panic("boom")
	}
	return nil, f.err
}

func TestBackendErrorMapping(t *testing.T) {
	tests := []struct {
		desc       string
		err        error
		status     int
		field      string
		retryAfter string
		message    string
	}{
		{desc: "bad request with field", err: rpc.InvalidField("inventory", "items[0].quantity", "must be at least 1"),
			status: 400, field: "items[0].quantity", message: "must be at least 1"},
		{desc: "unauthorized", err: merrors.Unauthorized("users", "session is invalid"), status: 401},
		{desc: "forbidden hides detail", err: merrors.Forbidden("inventory", "caller gateway may not call Inventory.Reserve"),
			status: 403, message: "access denied"},
		{desc: "not found", err: merrors.NotFound("inventory", "product x not found"), status: 404, message: "product x not found"},
		{desc: "conflict", err: rpc.FieldConflict("inventory", "items[1].quantity", "exceeds the available stock"),
			status: 409, field: "items[1].quantity"},
		{desc: "rate limited", err: rpc.TooManyRequests("inventory", "rate limit exceeded", 4*time.Second),
			status: 429, retryAfter: "4"},
		{desc: "rate limited without wait", err: merrors.New("inventory", "slow down", 429), status: 429},
		{desc: "backend overloaded", err: merrors.New("orders", "inventory is busy; retry after 2s", 503),
			status: 503, retryAfter: "2"},
		{desc: "internal hides detail", err: merrors.InternalServerError("inventory", "database disk image is malformed"),
			status: 500, message: "internal error"},
		{desc: "no instance", err: merrors.InternalServerError(rpc.ClientID, "service inventory: not found"),
			status: 503, message: "inventory is unavailable; retry later"},
		{desc: "connection refused", err: merrors.InternalServerError(rpc.ClientID, "Error sending request: connection refused"),
			status: 503},
		{desc: "client timeout", err: merrors.New(rpc.ClientID, "context deadline exceeded", 408), status: 504},
		{desc: "deadline", err: context.DeadlineExceeded, status: 504},
		{desc: "transport error", err: errors.New("rpc error: code = Unavailable"), status: 503},
		{desc: "odd status", err: merrors.New("inventory", "teapot", 418), status: 500, message: "internal error"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			var logs bytes.Buffer
			b, _ := localBackends(t)
			b.Products = failingProducts{err: tt.err}
			h, err := NewHandler(Config{Log: slog.New(slog.NewJSONHandler(&logs, nil))}, b)
			if err != nil {
				t.Fatal(err)
			}
			c := &client{t: t, api: h}
			rsp := c.do("GET", "/v1/products", "", "")
			rsp.wantStatus(t, tt.status, tt.field)
			if got := rsp.Header().Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("Retry-After = %q, want %q", got, tt.retryAfter)
			}
			msg := rsp.body["error"].(map[string]any)["message"].(string)
			if tt.message != "" && msg != tt.message {
				t.Errorf("message = %q, want %q", msg, tt.message)
			}
			for _, secret := range []string{"database disk", "caller gateway", "connection refused", "rpc error"} {
				if strings.Contains(rsp.Body.String(), secret) {
					t.Errorf("response %s leaks %q", rsp.Body, secret)
				}
			}
			if tt.status >= 500 && logs.Len() == 0 {
				t.Error("a 5xx response was not logged")
			}
		})
	}
}

func TestPanicBecomes500(t *testing.T) {
	var logs bytes.Buffer
	b, _ := localBackends(t)
	b.Products = failingProducts{}
	h, err := NewHandler(Config{Log: slog.New(slog.NewJSONHandler(&logs, nil))}, b)
	if err != nil {
		t.Fatal(err)
	}
	c := &client{t: t, api: h}
	rsp := c.do("GET", "/v1/products", "", "")
	rsp.wantStatus(t, 500, "")
	if strings.Contains(rsp.Body.String(), "boom") {
		t.Errorf("response %s leaks the panic value", rsp.Body)
	}
	if !strings.Contains(logs.String(), "boom") {
		t.Error("the panic was not logged")
	}
}

func TestTruncateKeepsUTF8(t *testing.T) {
	s := strings.Repeat("ä", maxMessageBytes)
	got := truncate(s)
	if !strings.HasSuffix(got, "...") || len(got) > maxMessageBytes+3 {
		t.Fatalf("truncate length = %d", len(got))
	}
	if !utf8Valid(got) {
		t.Error("truncate split a UTF-8 sequence")
	}
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "?") == s }
