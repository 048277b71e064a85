package admin

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func newAdmin(t *testing.T, checks ...Check) (*Handler, *bytes.Buffer) {
	t.Helper()
	reg := prometheus.NewRegistry()
	counter := prometheus.NewCounter(prometheus.CounterOpts{Name: "bulwark_test_total", Help: "Test counter."})
	reg.MustRegister(counter)
	counter.Inc()
	var logs bytes.Buffer
	h, err := New(Options{Checks: checks, Gatherer: reg, CheckTimeout: 50 * time.Millisecond,
		Log: slog.New(slog.NewJSONHandler(&logs, nil))})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return h, &logs
}

func get(h http.Handler, method, path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec
}

func TestHealthz(t *testing.T) {
	h, _ := newAdmin(t, Check{Name: "db", Func: func(context.Context) error { return errors.New("down") }})
	// Liveness does not depend on the checks.
	if rec := get(h, "GET", "/healthz"); rec.Code != 200 {
		t.Errorf("/healthz = %d, want 200", rec.Code)
	}
}

func TestReadyz(t *testing.T) {
	ok := Check{Name: "db", Func: func(context.Context) error { return nil }}
	failing := Check{Name: "broker", Func: func(context.Context) error { return errors.New("dial 10.0.0.1: refused") }}
	slow := Check{Name: "slow", Func: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }}
	tests := []struct {
		desc   string
		checks []Check
		status int
		want   string
	}{
		{desc: "no checks", status: 200, want: `"status":"ready"`},
		{desc: "passing", checks: []Check{ok}, status: 200, want: `"db":"ok"`},
		{desc: "failing", checks: []Check{ok, failing}, status: 503, want: `"broker":"failed"`},
		{desc: "timed out", checks: []Check{slow}, status: 503, want: `"slow":"failed"`},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			h, logs := newAdmin(t, tt.checks...)
			rec := get(h, "GET", "/readyz")
			if rec.Code != tt.status || !strings.Contains(rec.Body.String(), tt.want) {
				t.Errorf("/readyz = %d %s, want %d containing %s", rec.Code, rec.Body, tt.status, tt.want)
			}
			if strings.Contains(rec.Body.String(), "10.0.0.1") {
				t.Errorf("/readyz body %s leaks the check error", rec.Body)
			}
			if tt.status == 503 && logs.Len() == 0 {
				t.Error("failed check was not logged")
			}
		})
	}
}

func TestDrain(t *testing.T) {
	h, _ := newAdmin(t)
	h.Drain()
	if rec := get(h, "GET", "/readyz"); rec.Code != 503 || !strings.Contains(rec.Body.String(), "draining") {
		t.Errorf("/readyz while draining = %d %s, want 503 draining", rec.Code, rec.Body)
	}
	if rec := get(h, "GET", "/healthz"); rec.Code != 200 {
		t.Errorf("/healthz while draining = %d, want 200", rec.Code)
	}
}

func TestMetrics(t *testing.T) {
	h, _ := newAdmin(t)
	rec := get(h, "GET", "/metrics")
	body, _ := io.ReadAll(rec.Body)
	if rec.Code != 200 || !strings.Contains(string(body), "bulwark_test_total 1") {
		t.Errorf("/metrics = %d %s", rec.Code, body)
	}
}

func TestMethodsAndRoutes(t *testing.T) {
	h, _ := newAdmin(t)
	if rec := get(h, "POST", "/readyz"); rec.Code != 405 {
		t.Errorf("POST /readyz = %d, want 405", rec.Code)
	}
	if rec := get(h, "GET", "/debug/pprof/"); rec.Code != 404 {
		t.Errorf("GET /debug/pprof/ = %d, want 404", rec.Code)
	}
}

func TestNewErrors(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := prometheus.NewRegistry()
	nop := func(context.Context) error { return nil }
	tests := []struct {
		desc string
		opts Options
	}{
		{desc: "no gatherer", opts: Options{Log: log}},
		{desc: "no log", opts: Options{Gatherer: reg}},
		{desc: "negative timeout", opts: Options{Gatherer: reg, Log: log, CheckTimeout: -1}},
		{desc: "unnamed check", opts: Options{Gatherer: reg, Log: log, Checks: []Check{{Func: nop}}}},
		{desc: "duplicate check", opts: Options{Gatherer: reg, Log: log, Checks: []Check{{Name: "a", Func: nop}, {Name: "a", Func: nop}}}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if _, err := New(tt.opts); err == nil {
				t.Error("New succeeded")
			}
		})
	}
}
