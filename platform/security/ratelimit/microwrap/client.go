package microwrap

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go-micro.dev/v4/client"
	merrors "go-micro.dev/v4/errors"
	"go-micro.dev/v4/registry"

	"github.com/bulwark-go/bulwark/platform/security/internal/clock"
	"github.com/bulwark-go/bulwark/platform/security/ratelimit"
)

// ClientOptions configures NewCallWrapper.
type ClientOptions struct {
	// Service is the name of the calling service, used as the id of the
	// errors the wrapper returns. Required.
	Service string
	// Store decides calls. Required.
	Store ratelimit.Store
	// Rules returns the limits, called for every call. The endpoint is the
	// callee's endpoint (for example "Orders.Create") and the caller is the
	// callee's service name (for example "orders"): Rules.Callers holds
	// limits by callee service and Rules.Pairs by endpoint and service.
	// Required.
	Rules func() *ratelimit.Rules
	// MaxWait bounds how long a call waits for budget before it fails with
	// 429 without being sent. Zero means DefaultMaxWait. A call never
	// waits past its context's deadline.
	MaxWait time.Duration
	// Clock times the waits; nil means the machine's clock.
	Clock ratelimit.Clock
	// Metrics counts decisions and waits; nil counts nothing.
	Metrics *ratelimit.Metrics
}

func (o *ClientOptions) check() error {
	switch {
	case o.Service == "":
		return errors.New("microwrap: ClientOptions.Service is empty; set the calling service's name")
	case o.Store == nil:
		return errors.New("microwrap: ClientOptions.Store is nil; pass a ratelimit.Memory or a redisstore store")
	case o.Rules == nil:
		return errors.New("microwrap: ClientOptions.Rules is nil; pass the rules function of a config.Reloader or a fixed one")
	case o.MaxWait < 0:
		return fmt.Errorf("microwrap: ClientOptions.MaxWait %s is negative; use 0 for the default of %s", o.MaxWait, DefaultMaxWait)
	}
	if o.MaxWait == 0 {
		o.MaxWait = DefaultMaxWait
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	return nil
}

// NewCallWrapper returns a go-micro call wrapper for callers that pace
// themselves: each call to a callee's endpoint waits for budget, up to
// MaxWait and never past the context's deadline, and a call that cannot get
// budget in that time fails with a 429 from TooManyRequests without being
// sent. Install it with client.WrapCall.
func NewCallWrapper(opts ClientOptions) (client.CallWrapper, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	return func(next client.CallFunc) client.CallFunc {
		return func(ctx context.Context, node *registry.Node, req client.Request, rsp any, callOpts client.CallOptions) error {
			if err := pace(ctx, &opts, req.Service(), req.Endpoint()); err != nil {
				return err
			}
			return next(ctx, node, req, rsp, callOpts)
		}
	}, nil
}

func pace(ctx context.Context, opts *ClientOptions, service, endpoint string) error {
	maxWait := opts.MaxWait
	if deadline, ok := ctx.Deadline(); ok {
		maxWait = min(maxWait, deadline.Sub(opts.Clock.Now()))
	}
	limit := opts.Rules().Lookup(endpoint, service)
	res, err := opts.Store.Take(ctx, ratelimit.Key{Scope: endpoint, Subject: service}, limit, max(maxWait, 0))
	if err != nil {
		return merrors.New(opts.Service, "rate limit unavailable: "+err.Error(), 503)
	}
	opts.Metrics.Observe(endpoint, ratelimit.ClassSelf, res.Allowed)
	if !res.Allowed {
		return TooManyRequests(opts.Service,
			fmt.Sprintf("own rate limit %s on %s.%s exceeded", limit, service, endpoint), res.RetryAfter)
	}
	if res.Delay <= 0 {
		return nil
	}
	opts.Metrics.ObserveDelay(endpoint, ratelimit.ClassSelf, false)
	timer := opts.Clock.NewTimer(res.Delay)
	defer timer.Stop()
	select {
	case <-timer.C():
		return nil
	case <-ctx.Done():
		return merrors.Timeout(opts.Service, "waiting for own rate limit on %s.%s: %v", service, endpoint, ctx.Err())
	}
}
