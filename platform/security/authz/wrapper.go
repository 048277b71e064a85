package authz

import (
	"context"
	"log/slog"
	"sync/atomic"

	merrors "go-micro.dev/v4/errors"
	"go-micro.dev/v4/server"
	"golang.org/x/time/rate"

	"github.com/bulwark-go/bulwark/platform/security/identity"
)

// Rate of rejection log lines per second, and their burst.
const (
	logRate  = 10
	logBurst = 20
)

type callerKey struct{}

// WithCaller returns a context that carries the verified identity of the
// caller or publisher. Only code that verified the identity should call it.
func WithCaller(ctx context.Context, service string) context.Context {
	return context.WithValue(ctx, callerKey{}, service)
}

// Caller returns the verified identity of the service that made the current
// call or published the current message, as set by HandlerWrapper or the
// broker's subscriber wrapper.
func Caller(ctx context.Context) (string, bool) {
	name, ok := ctx.Value(callerKey{}).(string)
	return name, ok && name != ""
}

// HandlerWrapper returns a go-micro handler wrapper that lets a call through
// only when the verified identity of the caller may call the endpoint of
// service under p. service is the name of the service that runs the
// wrapper. The caller's identity comes from the client certificate of the
// gRPC peer, so the wrapper works only on the go-micro gRPC server with mTLS.
func HandlerWrapper(p *Policy, service string, log *slog.Logger) server.HandlerWrapper {
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "authz", "service", service)
	// A flood of rejected calls must not flood the log: at most logBurst
	// lines at once and logRate a second, with a count of the rest.
	limiter := rate.NewLimiter(logRate, logBurst)
	var suppressed atomic.Int64
	warn := func(msg string, args ...any) {
		if !limiter.Allow() {
			suppressed.Add(1)
			return
		}
		if n := suppressed.Swap(0); n > 0 {
			args = append(args, "suppressed_since_last", n)
		}
		log.Warn(msg, args...)
	}
	return func(next server.HandlerFunc) server.HandlerFunc {
		return func(ctx context.Context, req server.Request, rsp any) error {
			endpoint := req.Endpoint()
			caller, err := identity.FromPeer(ctx)
			if err != nil {
				warn("call rejected: no verified caller identity", "endpoint", endpoint, "error", err)
				return merrors.Unauthorized(service, "no verified client certificate")
			}
			if err := p.AllowCall(caller, service, endpoint); err != nil {
				warn("call denied", "caller", caller, "endpoint", endpoint)
				return merrors.Forbidden(service, "%s may not call %s", caller, endpoint)
			}
			return next(WithCaller(ctx, caller), req, rsp)
		}
	}
}
