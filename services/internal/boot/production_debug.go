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
//   - any debug handler on http.DefaultServeMux, where importing
//     net/http/pprof or expvar puts it. Every http.Server with a nil
//     Handler serves that mux, and the check cannot see every server, so
//     the handlers are rejected wherever they would be served;
//   - a debug handler on the admin listener while BULWARK_ADMIN_LISTEN is
//     not a loopback address;
//   - a gateway route on an admin or debug path, because the public
//     listener serves every route in Options.Routes.
func checkDebugEndpoints(c *productionCheck, cfg ProductionConfig) {
	defaultMux := cfg.DefaultServeMux
	if defaultMux == nil {
		defaultMux = http.DefaultServeMux
	}
	if served := servedPaths(defaultMux, debugPaths); len(served) > 0 {
		c.reject("http.DefaultServeMux", fmt.Sprintf("serves the debug handlers %s, which every http.Server "+
			"without its own Handler exposes", strings.Join(served, ", ")),
			"remove the imports of net/http/pprof, expvar or golang.org/x/net/trace from the binary")
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

func isAdminOrDebugPath(path string) bool {
	for _, p := range adminPaths {
		if path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return path == "/debug" || strings.HasPrefix(path, "/debug/")
}

// servedPaths returns the paths of paths that h answers with a status
// other than 404 to a GET request. A ServeMux is asked for the pattern of
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
