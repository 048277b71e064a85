package httpapi

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
)

// BenchmarkListProducts measures one GET /v1/products through the gateway
// handler in process, with the real inventory handler and SQLite store
// behind it and no network.
func BenchmarkListProducts(b *testing.B) {
	backends, _ := localBackends(b)
	h, err := NewHandler(Config{Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, backends)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/products", nil))
		if rec.Code != 200 {
			b.Fatalf("status = %d", rec.Code)
		}
	}
}
