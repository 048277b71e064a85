package authz

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	merrors "go-micro.dev/v4/errors"
	"go-micro.dev/v4/server"
	"golang.org/x/time/rate"

	"github.com/bulwark-go/bulwark/platform/security/identity"
	"github.com/bulwark-go/bulwark/platform/security/internal/clock"
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

// Option changes a default of HandlerWrapper.
type Option interface {
	apply(*options)
}

type options struct {
	clock clock.Clock
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// WithClock sets the clock against which HandlerWrapper checks the validity
// of the caller's certificate at each call. The default is the machine's
// clock. Tests pass a clock.Fake.
func WithClock(c clock.Clock) Option {
	return optionFunc(func(o *options) { o.clock = c })
}

// HandlerWrapper returns a go-micro handler wrapper that lets a call through
// only when the verified identity of the caller may call the endpoint of
// service under p. service is the name of the service that runs the
// wrapper. The caller's identity comes from the client certificate of the
// gRPC peer, so the wrapper works only on the go-micro gRPC server with mTLS.
//
// The wrapper also rejects, with a 401, a call whose verified certificate
// chain is not valid at the time of the call (CheckValidity). A gRPC
// connection lives until MaxConnectionAge, and the handshake checked the
// certificate only when the connection opened.
func HandlerWrapper(p *Policy, service string, log *slog.Logger, opts ...Option) server.HandlerWrapper {
	if log == nil {
		log = slog.Default()
	}
	o := options{clock: clock.Real{}}
	for _, opt := range opts {
		opt.apply(&o)
	}
	if o.clock == nil {
		o.clock = clock.Real{}
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
			if err := checkPeerValidity(ctx, o.clock.Now()); err != nil {
				args := []any{"caller", caller, "endpoint", endpoint, "error", err}
				var timeErr *CertificateTimeError
				if errors.As(err, &timeErr) {
					args = append(args, "not_before", timeErr.NotBefore, "not_after", timeErr.NotAfter)
				}
				warn("call rejected: client certificate not valid now", args...)
				return merrors.Unauthorized(service, "client certificate is not valid at the time of the call")
			}
			if err := p.AllowCall(caller, service, endpoint); err != nil {
				warn("call denied", "caller", caller, "endpoint", endpoint)
				return merrors.Forbidden(service, "%s may not call %s", caller, endpoint)
			}
			return next(WithCaller(ctx, caller), req, rsp)
		}
	}
}

func checkPeerValidity(ctx context.Context, now time.Time) error {
	state, ok := peerState(ctx)
	if !ok {
		// Unreachable after identity.FromPeer succeeded. The branch
		// stays so that a change there cannot skip the check silently.
		return errors.New("authz: the call has no TLS peer")
	}
	return CheckValidity(state, now)
}
