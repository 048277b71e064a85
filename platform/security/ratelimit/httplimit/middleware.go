package httplimit

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/bulwark-go/bulwark/platform/security/ratelimit"
	"github.com/bulwark-go/bulwark/platform/security/ratelimit/internal/logthrottle"
)

// LogInterval is how often the middleware logs a repeated event
// (rejections, store failures) at most.
const LogInterval = 10 * time.Second

// ClassGlobal is the key class of a route's budget shared by all clients:
// the caller under which Rules.Pairs holds it, and the class label of its
// metrics. The gateway sizes it below the budget that the backend behind
// the route gives the gateway, so that the gateway rejects a flood from many
// clients before the backend does.
const ClassGlobal = "global"

// Options configures New.
type Options struct {
	// Store decides requests. Required.
	Store ratelimit.Store
	// Rules returns the limits, called for every request. The caller
	// passed to Rules.Lookup is the key class: ratelimit.ClassClient for
	// authenticated clients, ratelimit.ClassIP otherwise. Rules.Callers
	// therefore holds the limit of each class, and Rules.Default applies
	// to a class without one. The endpoint is the route (see Route). A
	// route named in Rules.Endpoints or Rules.Pairs gets budgets of its
	// own, while all other routes share one budget per client. A limit in
	// Rules.Pairs[route][ClassGlobal] is one budget of the route shared by
	// all clients, spent after the client's own budget admitted the
	// request. Required.
	Rules func() *ratelimit.Rules
	// ClientKey returns the authenticated client of a request, such as a
	// user ID or API key, and false when there is none. Only a SHA-256
	// digest of the key is stored, so API keys never reach the store. Nil
	// keys every request by client IP.
	ClientKey func(*http.Request) (string, bool)
	// ClientIP resolves the client address of requests without a client
	// key. Required.
	ClientIP *ClientIPResolver
	// Route names the route of a request, for Rules and for the endpoint
	// label of the metrics. Nil means r.Pattern, which http.ServeMux sets
	// on requests it routed, and which is empty in front of the mux.
	Route func(*http.Request) string
	// Headers selects the RateLimit response headers; the zero value is
	// HeadersLegacy.
	Headers HeaderStyle
	// OnReject writes the response to a rejected request, after the
	// headers are set. Nil writes 429 with a JSON body.
	OnReject func(w http.ResponseWriter, r *http.Request, res ratelimit.Result)
	// Metrics counts decisions; nil counts nothing.
	Metrics *ratelimit.Metrics
	// Logger receives rejections and store failures, at most one line per
	// LogInterval each; nil means slog.Default().
	Logger *slog.Logger
}

// Middleware limits HTTP requests per client.
type Middleware struct {
	opts       Options
	rejections *logthrottle.Throttle
	failures   *logthrottle.Throttle
}

// New validates opts and returns the middleware.
func New(opts Options) (*Middleware, error) {
	switch {
	case opts.Store == nil:
		return nil, errors.New("httplimit: Options.Store is nil; pass a ratelimit.Memory or a redisstore store")
	case opts.Rules == nil:
		return nil, errors.New("httplimit: Options.Rules is nil; pass the rules function of a config.Reloader or a fixed one")
	case opts.ClientIP == nil:
		return nil, errors.New("httplimit: Options.ClientIP is nil; pass a ClientIPResolver with the trusted proxies")
	case opts.Headers < HeadersLegacy || opts.Headers > HeadersNone:
		return nil, fmt.Errorf("httplimit: Options.Headers %d is not a HeaderStyle", opts.Headers)
	}
	if opts.Route == nil {
		opts.Route = func(r *http.Request) string { return r.Pattern }
	}
	if opts.OnReject == nil {
		opts.OnReject = writeRejection
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Middleware{opts: opts, rejections: logthrottle.New(LogInterval), failures: logthrottle.New(LogInterval)}, nil
}

// Handler returns next wrapped by the limit. Its signature fits a gateway's
// func(http.Handler) http.Handler middleware setting.
func (m *Middleware) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if m.admit(w, r) {
			next.ServeHTTP(w, r)
		}
	})
}

// admit decides r, writes the headers, and writes the rejection when r may
// not proceed.
func (m *Middleware) admit(w http.ResponseWriter, r *http.Request) bool {
	route := m.opts.Route(r)
	rules := m.opts.Rules()
	class, subject := ratelimit.ClassIP, ""
	if m.opts.ClientKey != nil {
		if key, ok := m.opts.ClientKey(r); ok {
			class, subject = ratelimit.ClassClient, "client:"+digest(key)
		}
	}
	if class == ratelimit.ClassIP {
		subject = "ip:" + m.opts.ClientIP.Subject(m.opts.ClientIP.ClientIP(r))
	}
	scope := ""
	if routeScoped(rules, route) {
		scope = route
	}
	limit := rules.Lookup(route, class)

	res, err := m.opts.Store.Take(r.Context(), ratelimit.Key{Scope: scope, Subject: subject}, limit, 0)
	if err != nil {
		m.storeFailed(w, r, route, class, err)
		return false
	}
	m.opts.Metrics.Observe(metricsRoute(route), class, res.Allowed)
	if global, ok := rules.Pairs[route][ClassGlobal]; ok && res.Allowed {
		// The client's budget is spent first, so a client over its own
		// limit spends nothing of the budget that all clients share.
		shared, err := m.opts.Store.Take(r.Context(), ratelimit.Key{Scope: route, Subject: ClassGlobal}, global, 0)
		if err != nil {
			m.storeFailed(w, r, route, ClassGlobal, err)
			return false
		}
		m.opts.Metrics.Observe(metricsRoute(route), ClassGlobal, shared.Allowed)
		if !shared.Allowed {
			res, class = shared, ClassGlobal
		}
	}
	setHeaders(w.Header(), m.opts.Headers, res)
	if res.Allowed {
		return true
	}
	if ok, suppressed := m.rejections.Allow(time.Now()); ok {
		m.opts.Logger.InfoContext(r.Context(), "request rejected by rate limit", "route", route, "class", class,
			"client_ip", m.opts.ClientIP.ClientIPString(r), "retry_after", res.RetryAfter, "suppressed", suppressed)
	}
	m.opts.OnReject(w, r, res)
	return false
}

// storeFailed logs a store error at a bounded rate and rejects the request
// with 503, so that limits fail closed unless the store falls back itself.
func (m *Middleware) storeFailed(w http.ResponseWriter, r *http.Request, route, class string, err error) {
	if ok, suppressed := m.failures.Allow(time.Now()); ok {
		m.opts.Logger.ErrorContext(r.Context(), "rate limit store failed; rejecting the request",
			"route", route, "class", class, "err", err, "suppressed", suppressed)
	}
	w.Header().Set("Retry-After", "1")
	http.Error(w, "rate limit unavailable; retry later", http.StatusServiceUnavailable)
}

// routeScoped reports whether the per-client budgets of route are apart
// from those of other routes: the route has an endpoint rule or a pair
// rule of a client class. A global limit alone leaves them shared.
func routeScoped(rules *ratelimit.Rules, route string) bool {
	if _, ok := rules.Endpoints[route]; ok {
		return true
	}
	for class := range rules.Pairs[route] {
		if class != ClassGlobal {
			return true
		}
	}
	return false
}

func metricsRoute(route string) string {
	if route == "" {
		return "all"
	}
	return route
}

// digest returns a hex SHA-256 digest of a client key, so the store never
// holds the key itself.
func digest(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:16])
}

type rejectionBody struct {
	Error             string `json:"error"`
	RetryAfterSeconds int64  `json:"retry_after_seconds"`
}

func writeRejection(w http.ResponseWriter, _ *http.Request, res ratelimit.Result) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusTooManyRequests)
	_ = json.NewEncoder(w).Encode(rejectionBody{Error: "rate limit exceeded", RetryAfterSeconds: RetryAfterSeconds(res)})
}
