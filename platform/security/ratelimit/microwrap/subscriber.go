package microwrap

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go-micro.dev/v4/server"

	"github.com/bulwark-go/bulwark/platform/security/internal/clock"
	"github.com/bulwark-go/bulwark/platform/security/ratelimit"
	"github.com/bulwark-go/bulwark/platform/security/ratelimit/internal/logthrottle"
)

// DefaultMaxWait is the longest a subscriber or client wrapper waits for
// budget when its options leave MaxWait at zero.
const DefaultMaxWait = 5 * time.Second

// SubscriberOptions configures NewSubscriberWrapper.
type SubscriberOptions struct {
	// Service is the name of the service. Required.
	Service string
	// Store decides messages. Required.
	Store ratelimit.Store
	// Rules returns the limits, called for every message. The endpoint is
	// the topic and the caller is empty, so Rules.Endpoints holds limits
	// by topic. Required.
	Rules func() *ratelimit.Rules
	// MaxWait bounds how long one message waits for budget. Zero means
	// DefaultMaxWait.
	MaxWait time.Duration
	// Clock times the waits; nil means the machine's clock.
	Clock ratelimit.Clock
	// Metrics counts decisions and waits; nil counts nothing.
	Metrics *ratelimit.Metrics
	// Logger receives overdue messages and store failures, at most one
	// line per LogInterval each; nil means slog.Default().
	Logger *slog.Logger
}

func (o *SubscriberOptions) check() error {
	switch {
	case o.Service == "":
		return errors.New("microwrap: SubscriberOptions.Service is empty; set the service name")
	case o.Store == nil:
		return errors.New("microwrap: SubscriberOptions.Store is nil; pass a ratelimit.Memory or a redisstore store")
	case o.Rules == nil:
		return errors.New("microwrap: SubscriberOptions.Rules is nil; pass the rules function of a config.Reloader or a fixed one")
	case o.MaxWait < 0:
		return fmt.Errorf("microwrap: SubscriberOptions.MaxWait %s is negative; use 0 for the default of %s", o.MaxWait, DefaultMaxWait)
	}
	if o.MaxWait == 0 {
		o.MaxWait = DefaultMaxWait
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return nil
}

// NewSubscriberWrapper returns a go-micro subscriber wrapper that keeps a
// topic's messages within its limit by delaying them, never by dropping
// them: go-micro's HTTP broker discards a subscriber's error, so a rejected
// message would be lost. A message waits for its reserved place up to
// MaxWait. When the topic is so far behind that the wait would exceed
// MaxWait, or the delivery's context ends first, the message is handled
// after MaxWait (or at once) over the limit, and counted and logged as
// overdue. A store failure never holds a message back either.
//
// Because the wait holds the broker's delivery open, the publisher slows
// down too. Under a sustained flood the handler therefore runs at most
// about (concurrent deliveries)/MaxWait messages per second over the
// limit.
func NewSubscriberWrapper(opts SubscriberOptions) (server.SubscriberWrapper, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	s := &subscriberLimiter{opts: opts, overdue: logthrottle.New(LogInterval), failures: logthrottle.New(LogInterval)}
	return s.wrap, nil
}

type subscriberLimiter struct {
	opts     SubscriberOptions
	overdue  *logthrottle.Throttle
	failures *logthrottle.Throttle
}

func (s *subscriberLimiter) wrap(next server.SubscriberFunc) server.SubscriberFunc {
	return func(ctx context.Context, msg server.Message) error {
		s.pace(ctx, msg.Topic())
		return next(ctx, msg)
	}
}

// pace returns when the message may be handled.
func (s *subscriberLimiter) pace(ctx context.Context, topic string) {
	limit := s.opts.Rules().Lookup(topic, "")
	res, err := s.opts.Store.Take(ctx, ratelimit.Key{Scope: topic}, limit, s.opts.MaxWait)
	if err != nil {
		if ok, suppressed := s.failures.Allow(time.Now()); ok {
			s.opts.Logger.ErrorContext(ctx, "rate limit store failed; handling the message without a limit",
				"topic", topic, "err", err, "suppressed", suppressed)
		}
		return
	}
	s.opts.Metrics.Observe(topic, ratelimit.ClassTopic, res.Allowed)
	if res.Allowed {
		if res.Delay > 0 {
			s.opts.Metrics.ObserveDelay(topic, ratelimit.ClassTopic, false)
			s.wait(ctx, res.Delay)
		}
		return
	}
	s.opts.Metrics.ObserveDelay(topic, ratelimit.ClassTopic, true)
	waited := s.wait(ctx, s.opts.MaxWait)
	if ok, suppressed := s.overdue.Allow(time.Now()); ok {
		s.opts.Logger.WarnContext(ctx, "message handled over its rate limit after the maximum wait",
			"topic", topic, "limit", limit.String(), "waited", waited, "behind", res.RetryAfter, "suppressed", suppressed)
	}
}

// wait blocks for d or until ctx ends, and returns how long it waited.
func (s *subscriberLimiter) wait(ctx context.Context, d time.Duration) time.Duration {
	start := s.opts.Clock.Now()
	timer := s.opts.Clock.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C():
	case <-ctx.Done():
	}
	return s.opts.Clock.Now().Sub(start)
}
