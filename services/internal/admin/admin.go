// Package admin serves a service's operational endpoints on a listener that
// is kept apart from its API: /healthz (liveness), /readyz (readiness from
// check functions) and /metrics (Prometheus).
//
// Threat: an admin endpoint that leaks internals or can be used to load the
// service. Check errors are logged but reported only as "failed", each check
// runs with a timeout, and only GET and HEAD are served. Bind the admin
// listener to an address that only the platform (probes, Prometheus) reaches.
package admin

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// DefaultCheckTimeout bounds one readiness check when Options.CheckTimeout is 0.
const DefaultCheckTimeout = 2 * time.Second

// Check is one readiness check, for example a database ping.
type Check struct {
	// Name identifies the check in the /readyz body and in logs.
	Name string
	// Func returns nil when the dependency is ready.
	Func func(ctx context.Context) error
}

// Options configures the admin handler.
type Options struct {
	// Checks decide readiness; all must pass. Optional.
	Checks []Check
	// Gatherer is the Prometheus registry served on /metrics. Required.
	Gatherer prometheus.Gatherer
	// CheckTimeout bounds each check. Optional; default DefaultCheckTimeout.
	CheckTimeout time.Duration
	// Log receives failed checks. Required.
	Log *slog.Logger
}

// Handler serves the admin endpoints. Create it with New.
type Handler struct {
	opts     Options
	mux      *http.ServeMux
	draining atomic.Bool
}

// New returns the admin handler.
func New(opts Options) (*Handler, error) {
	if opts.Gatherer == nil {
		return nil, errors.New("admin: Options.Gatherer is nil; pass the service's Prometheus registry")
	}
	if opts.Log == nil {
		return nil, errors.New("admin: Options.Log is nil; pass the service logger")
	}
	if opts.CheckTimeout < 0 {
		return nil, errors.New("admin: Options.CheckTimeout is negative; use 0 for the default")
	}
	if opts.CheckTimeout == 0 {
		opts.CheckTimeout = DefaultCheckTimeout
	}
	seen := map[string]bool{}
	for _, c := range opts.Checks {
		if c.Name == "" || c.Func == nil {
			return nil, errors.New("admin: every check needs a Name and a Func")
		}
		if seen[c.Name] {
			return nil, errors.New("admin: check name " + c.Name + " is used twice")
		}
		seen[c.Name] = true
	}
	h := &Handler{opts: opts, mux: http.NewServeMux()}
	h.mux.HandleFunc("GET /healthz", h.healthz)
	h.mux.HandleFunc("GET /readyz", h.readyz)
	h.mux.Handle("GET /metrics", promhttp.HandlerFor(opts.Gatherer, promhttp.HandlerOpts{}))
	return h, nil
}

// ServeHTTP serves the admin endpoints.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// Drain makes /readyz report not ready from now on, so that load balancers
// stop sending traffic before the service shuts down.
func (h *Handler) Drain() { h.draining.Store(true) }

func (h *Handler) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
}

func (h *Handler) readyz(w http.ResponseWriter, r *http.Request) {
	if h.draining.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "draining"})
		return
	}
	results := make(map[string]string, len(h.opts.Checks))
	var mu sync.Mutex
	var wg sync.WaitGroup
	ready := true
	for _, c := range h.opts.Checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(r.Context(), h.opts.CheckTimeout)
			defer cancel()
			err := c.Func(ctx)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				ready = false
				results[c.Name] = "failed"
				h.opts.Log.WarnContext(r.Context(), "readiness check failed", "check", c.Name, "err", err)
				return
			}
			results[c.Name] = "ok"
		}()
	}
	wg.Wait()
	if !ready {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "not ready", "checks": results})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ready", "checks": results})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
