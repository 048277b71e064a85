package boot

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bulwark-go/bulwark/services/internal/admin"
)

// debugPaths are the paths of Go's debug handlers: net/http/pprof
// registers /debug/pprof/, expvar /debug/vars, and golang.org/x/net/trace
// /debug/requests and /debug/events.
var debugPaths = []string{"/debug/pprof/", "/debug/pprof/heap", "/debug/vars", "/debug/requests", "/debug/events"}

// adminPaths are the admin listener's paths that the gateway's public
// listener must not serve. /healthz is also a public route of the gateway
// and returns only its liveness.
var adminPaths = []string{"/readyz", "/metrics"}

// checkDebugEndpoints rejects debug handlers that a client outside the
// machine could reach:
//
//   - MICRO_DEBUG_PROFILE, with which go-micro's Service.Init starts its
//     pprof server on :6060, on every interface. Boot never calls Init,
//     but a service that does would obey it;
//   - a debug handler on the admin listener while BULWARK_ADMIN_LISTEN is
//     not a loopback address;
//   - a gateway route on an admin or debug path, because the public
//     listener serves every route in Options.Routes.
//
// The debug handlers that dependencies put on http.DefaultServeMux are
// removed by clearDefaultServeMux instead.
func checkDebugEndpoints(c *productionCheck, cfg ProductionConfig) {
	if _, ok := envValue(cfg.Environ, "MICRO_DEBUG_PROFILE"); ok {
		c.reject("MICRO_DEBUG_PROFILE", "asks go-micro to serve pprof on :6060 on every interface",
			"unset it; profile a service through a loopback-only listener that you add yourself")
	}

	adminHandler := cfg.Admin
	if adminHandler == nil {
		var err error
		adminHandler, err = admin.New(admin.Options{Gatherer: prometheus.NewRegistry(),
			Log: slog.New(slog.DiscardHandler)})
		if err != nil {
			c.reject(EnvAdminListen, fmt.Sprintf("the admin handler cannot be built (%v)", err), "report this fault")
			return
		}
	}
	if served := servedPaths(adminHandler, debugPaths); len(served) > 0 && !isLoopbackListen(cfg.Env.AdminListen) {
		c.reject(EnvAdminListen, fmt.Sprintf("%q is reachable from other hosts and the admin listener serves "+
			"the debug handlers %s", cfg.Env.AdminListen, strings.Join(served, ", ")),
			"bind it to 127.0.0.1 or remove the debug handlers from the admin listener")
	}

	if cfg.Options.Gateway {
		for _, route := range cfg.Options.Routes {
			_, path, _ := strings.Cut(route, " ")
			if isAdminOrDebugPath(path) {
				c.reject(EnvGatewayListen, fmt.Sprintf("the gateway's public listener serves the route %q, "+
					"which belongs on the admin listener", route),
					"remove the route from the gateway; "+EnvAdminListen+" serves /readyz and /metrics")
			}
		}
	}
}

// clearDefaultServeMux replaces http.DefaultServeMux with an empty mux and
// returns the debug paths that the old one served. The services' own
// dependencies register debug handlers there when the binary starts:
// net/http/pprof through go-micro.dev/v4/debug/profile/http, expvar
// through the Prometheus client and golang.org/x/net/trace through gRPC
// (as of go-micro v4.11.0, client_golang v1.25.0 and grpc in go.mod). Every
// http.Server with a nil Handler serves that mux, so the production profile
// empties it before anything starts. Boot's own listeners have their own
// handlers; a service that registers handlers on http.DefaultServeMux
// must serve its own mux instead.
func clearDefaultServeMux() []string {
	served := servedPaths(http.DefaultServeMux, debugPaths)
	http.DefaultServeMux = http.NewServeMux()
	return served
}

func isAdminOrDebugPath(path string) bool {
	for _, p := range adminPaths {
		if path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return path == "/debug" || strings.HasPrefix(path, "/debug/")
}

// servedPaths returns the members of paths to which h responds with a
// status other than 404 on a GET request. A ServeMux is asked for the pattern of
// each path without running a handler.
func servedPaths(h http.Handler, paths []string) []string {
	var served []string
	for _, path := range paths {
		req, err := http.NewRequest(http.MethodGet, "http://localhost"+path, nil)
		if err != nil {
			continue
		}
		if mux, ok := h.(*http.ServeMux); ok {
			// A pattern reads "[METHOD ][HOST]/PATH". Only a pattern under
			// /debug counts, so that a catch-all "/" is not taken for a
			// debug handler.
			_, pattern := mux.Handler(req)
			if i := strings.Index(pattern, "/"); i >= 0 && strings.HasPrefix(pattern[i:], "/debug") {
				served = append(served, path)
			}
			continue
		}
		w := &statusWriter{header: http.Header{}}
		h.ServeHTTP(w, req)
		if w.status != http.StatusNotFound {
			served = append(served, path)
		}
	}
	return served
}

// statusWriter records the status of a response and discards its body.
type statusWriter struct {
	header http.Header
	status int
}

func (w *statusWriter) Header() http.Header { return w.header }

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return len(b), nil
}

// isLoopbackListen reports whether a listen address accepts connections
// only from the same machine. An empty host listens on every interface.
func isLoopbackListen(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}
