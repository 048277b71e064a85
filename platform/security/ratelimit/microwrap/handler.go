package microwrap

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	merrors "go-micro.dev/v4/errors"
	"go-micro.dev/v4/server"

	"github.com/bulwark-go/bulwark/platform/security/identity"
	"github.com/bulwark-go/bulwark/platform/security/ratelimit"
	"github.com/bulwark-go/bulwark/platform/security/ratelimit/internal/logthrottle"
)

// LogInterval is how often each wrapper logs a repeated event (rejections,
// store failures, overdue messages) at most. The log line carries the count
// of events held back since the previous line.
const LogInterval = 10 * time.Second

// anonymousKey is the one budget of all calls without a verified identity.
// Its empty Scope and Subject match no endpoint and no service name.
var anonymousKey = ratelimit.Key{}

// HandlerOptions configures NewHandlerWrapper.
type HandlerOptions struct {
	// Service is the name of the service, used as the id of its errors.
	// Required.
	Service string
	// Store decides requests. Required. Wrap a shared store in
	// redisstore's fallback to choose what happens when it fails; an
	// error from Store itself rejects the request with 503.
	Store ratelimit.Store
	// Rules returns the limits; it is called on every request, so a
	// reload takes effect at once. Required.
	Rules func() *ratelimit.Rules
	// Metrics counts decisions; nil counts nothing.
	Metrics *ratelimit.Metrics
	// Logger receives rejections and store failures, at most one line
	// per LogInterval each; nil means slog.Default().
	Logger *slog.Logger
}

func (o *HandlerOptions) check() error {
	switch {
	case o.Service == "":
		return errors.New("microwrap: HandlerOptions.Service is empty; set the service name")
	case o.Store == nil:
		return errors.New("microwrap: HandlerOptions.Store is nil; pass a ratelimit.Memory or a redisstore store")
	case o.Rules == nil:
		return errors.New("microwrap: HandlerOptions.Rules is nil; pass the rules function of a config.Reloader or a fixed one")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return nil
}

// NewHandlerWrapper returns a go-micro handler wrapper that limits each
// call by its endpoint and its caller's identity. The identity comes only
// from the client certificate verified by the TLS handshake
// (identity.FromPeer), never from metadata such as Micro-From-Service or
// Remote, which the caller writes. Calls without a verified identity share
// the single Rules.Anonymous budget, or are rejected with 401 when it is
// not set.
//
// A rejected call gets a go-micro 429 error from TooManyRequests. The grpc
// server plugin (server/grpc v1.2.0) sends it to plain gRPC clients as
// Unknown unless the server also installs the stream interceptor of package
// grpcerr, which turns it into ResourceExhausted. The plugin decodes a
// request before handler wrappers run, so a rejected call still costs its
// decoding.
func NewHandlerWrapper(opts HandlerOptions) (server.HandlerWrapper, error) {
	h, err := newHandlerLimiter(opts)
	if err != nil {
		return nil, err
	}
	return h.wrap, nil
}

func newHandlerLimiter(opts HandlerOptions) (*handlerLimiter, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	return &handlerLimiter{opts: opts, rejections: logthrottle.New(LogInterval), failures: logthrottle.New(LogInterval)}, nil
}

type handlerLimiter struct {
	opts       HandlerOptions
	rejections *logthrottle.Throttle
	failures   *logthrottle.Throttle
}

func (h *handlerLimiter) wrap(next server.HandlerFunc) server.HandlerFunc {
	return func(ctx context.Context, req server.Request, rsp any) error {
		if err := h.check(ctx, req.Endpoint()); err != nil {
			return err
		}
		return next(ctx, req, rsp)
	}
}

// check decides one call and returns the error to send when it may not
// proceed.
func (h *handlerLimiter) check(ctx context.Context, endpoint string) error {
	rules := h.opts.Rules()
	class := ratelimit.ClassService
	key := ratelimit.Key{Scope: endpoint}
	var limit ratelimit.Limit

	caller, idErr := identity.FromPeer(ctx)
	if idErr == nil {
		key.Subject = caller
		limit = rules.Lookup(endpoint, caller)
	} else {
		class, key = ratelimit.ClassAnonymous, anonymousKey
		limit = rules.Anonymous
		if limit.IsZero() {
			h.opts.Metrics.Observe(endpoint, class, false)
			h.logRejection(ctx, endpoint, "", class, 0, idErr)
			return merrors.Unauthorized(h.opts.Service, "no verified caller identity; call over mTLS with a service certificate")
		}
	}

	res, err := h.opts.Store.Take(ctx, key, limit, 0)
	if err != nil {
		if ok, suppressed := h.failures.Allow(time.Now()); ok {
			h.opts.Logger.ErrorContext(ctx, "rate limit store failed; rejecting the call",
				"endpoint", endpoint, "caller", caller, "err", err, "suppressed", suppressed)
		}
		return merrors.New(h.opts.Service, "rate limit unavailable; retry later", 503)
	}
	h.opts.Metrics.Observe(endpoint, class, res.Allowed)
	if res.Allowed {
		return nil
	}
	h.logRejection(ctx, endpoint, caller, class, res.RetryAfter, nil)
	who := caller
	if class == ratelimit.ClassAnonymous {
		who = "anonymous callers"
	}
	return TooManyRequests(h.opts.Service,
		fmt.Sprintf("rate limit %s of %s on %s exceeded", limit, who, endpoint), res.RetryAfter)
}

func (h *handlerLimiter) logRejection(ctx context.Context, endpoint, caller, class string, retryAfter time.Duration, cause error) {
	ok, suppressed := h.rejections.Allow(time.Now())
	if !ok {
		return
	}
	attrs := []any{"endpoint", endpoint, "class", class, "suppressed", suppressed}
	if caller != "" {
		attrs = append(attrs, "caller", caller)
	}
	if retryAfter > 0 {
		attrs = append(attrs, "retry_after", retryAfter)
	}
	if cause != nil {
		attrs = append(attrs, "err", cause)
	}
	h.opts.Logger.InfoContext(ctx, "call rejected by rate limit", attrs...)
}
