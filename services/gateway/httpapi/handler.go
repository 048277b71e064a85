package httpapi

import (
	"context"
	"errors"
	"net/http"
	"runtime/debug"
	"sync"
)

// API serves the gateway's HTTP/JSON API.
type API struct {
	cfg Config
	b   Backends
	mux *http.ServeMux
}

// NewHandler returns the API as an http.Handler, wrapped in cfg.Middleware.
func NewHandler(cfg Config, b Backends) (http.Handler, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	if b.Users == nil || b.Orders == nil || b.Products == nil {
		return nil, errors.New("httpapi: Backends.Users, Orders and Products are all required")
	}
	a := &API{cfg: cfg, b: b, mux: http.NewServeMux()}
	a.routes()
	var h http.Handler = http.HandlerFunc(a.serve)
	if cfg.Middleware != nil {
		h = cfg.Middleware(h)
	}
	return a.recoverPanics(h), nil
}

// route is one endpoint of the API.
type route struct {
	method, path string
	handler      func(a *API) http.Handler
}

// routes lists every endpoint; api/openapi.yaml documents the same list.
var routes = []route{
	{"GET", "/healthz", func(a *API) http.Handler { return http.HandlerFunc(a.healthz) }},
	{"POST", "/v1/users", func(a *API) http.Handler { return http.HandlerFunc(a.register) }},
	{"POST", "/v1/sessions", func(a *API) http.Handler { return http.HandlerFunc(a.login) }},
	{"DELETE", "/v1/sessions/current", func(a *API) http.Handler { return a.authenticated(a.logout) }},
	{"GET", "/v1/products", func(a *API) http.Handler { return http.HandlerFunc(a.listProducts) }},
	{"POST", "/v1/orders", func(a *API) http.Handler { return a.authenticated(a.placeOrder) }},
	{"GET", "/v1/orders", func(a *API) http.Handler { return a.authenticated(a.listOrders) }},
	{"GET", "/v1/orders/{id}", func(a *API) http.Handler { return a.authenticated(a.getOrder) }},
	{"POST", "/v1/orders/{id}/cancel", func(a *API) http.Handler { return a.authenticated(a.cancelOrder) }},
}

// Routes returns the name of every route, "METHOD /path" as in http.ServeMux
// patterns, for checking route names in the rate-limit settings.
func Routes() []string {
	names := make([]string, len(routes))
	for i, r := range routes {
		names[i] = r.method + " " + r.path
	}
	return names
}

// routeMux matches requests against the route table without serving them.
var routeMux = sync.OnceValue(func() *http.ServeMux {
	mux := http.NewServeMux()
	for _, r := range routes {
		mux.Handle(r.method+" "+r.path, http.NotFoundHandler())
	}
	return mux
})

// RouteOf returns the name of the route that r matches, as Routes names it,
// or "" when r matches none. Middleware in Config.Middleware runs before
// routing, where r.Pattern is still empty, and keys route limits by this.
func RouteOf(r *http.Request) string {
	_, pattern := routeMux().Handler(r)
	return pattern
}

func (a *API) routes() {
	for _, r := range routes {
		a.mux.Handle(r.method+" "+r.path, r.handler(a))
	}
}

// serve routes r. Requests that match no route get the ServeMux's status
// (404, or 405 with its Allow header) in the API's JSON error shape.
func (a *API) serve(w http.ResponseWriter, r *http.Request) {
	h, pattern := a.mux.Handler(r)
	if pattern != "" {
		a.mux.ServeHTTP(w, r)
		return
	}
	rec := &statusRecorder{header: http.Header{}}
	h.ServeHTTP(rec, r)
	switch rec.status {
	case http.StatusMethodNotAllowed:
		w.Header().Set("Allow", rec.header.Get("Allow"))
		writeError(w, &apiError{status: http.StatusMethodNotAllowed, code: "method_not_allowed",
			message: r.Method + " is not allowed on " + r.URL.Path + "; see the Allow header"})
	default:
		writeError(w, &apiError{status: http.StatusNotFound, code: "not_found",
			message: "no route for " + r.Method + " " + r.URL.Path})
	}
}

// statusRecorder keeps the status and headers that the ServeMux's 404 and
// 405 handlers write, and drops their plain-text body.
type statusRecorder struct {
	header http.Header
	status int
}

func (s *statusRecorder) Header() http.Header         { return s.header }
func (s *statusRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (s *statusRecorder) WriteHeader(status int)      { s.status = status }

// recoverPanics turns a panic in a handler into a logged 500 instead of a
// dropped connection.
func (a *API) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			a.cfg.Log.ErrorContext(r.Context(), "handler panicked", "method", r.Method, "path", r.URL.Path,
				"panic", v, "stack", string(debug.Stack()))
			writeError(w, &apiError{status: http.StatusInternalServerError, code: codes[500], message: "internal error"})
		}()
		next.ServeHTTP(w, r)
	})
}

// backendContext bounds one backend call.
func (a *API) backendContext(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), a.cfg.BackendTimeout)
}

func (a *API) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}
