package redisstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bulwark-go/bulwark/platform/security/internal/clock"
	"github.com/bulwark-go/bulwark/platform/security/ratelimit"
	"github.com/bulwark-go/bulwark/platform/security/ratelimit/internal/logthrottle"
)

// Mode selects the behaviour of a Store while Redis fails.
type Mode int

const (
	// FailOpen decides on the local store: each instance keeps limiting,
	// but on its own budget, so N instances together admit up to N times
	// the shared limit.
	FailOpen Mode = iota
	// FailClosed rejects every request until Redis responds again.
	FailClosed
)

// String returns "open" or "closed", the mode label of the fallback metric.
func (m Mode) String() string {
	if m == FailClosed {
		return "closed"
	}
	return "open"
}

// Defaults of Options.
const (
	DefaultPrefix        = "bulwark:ratelimit:"
	DefaultTimeout       = 100 * time.Millisecond
	DefaultRetryInterval = time.Second
	LogInterval          = 10 * time.Second
)

// Options configures New.
type Options struct {
	// Client is the Redis client, for example from NewClient. Required.
	Client redis.Scripter
	// Prefix starts every key. Give each service its own, for example
	// "bulwark:ratelimit:orders:", so services never share budgets by
	// accident. Empty means DefaultPrefix.
	Prefix string
	// Timeout bounds one decision on Redis; zero means DefaultTimeout.
	Timeout time.Duration
	// OnError selects the behaviour while Redis fails.
	OnError Mode
	// Local decides requests in FailOpen mode. Nil means a new
	// ratelimit.Memory with default options.
	Local ratelimit.Store
	// RetryInterval is how long after a failure the store decides without
	// Redis before it tries Redis again, so a dead Redis costs one timeout
	// per interval rather than one per request. Zero means
	// DefaultRetryInterval.
	RetryInterval time.Duration
	// Clock times RetryInterval; nil means the machine's clock.
	Clock ratelimit.Clock
	// Metrics counts fallback decisions; nil counts nothing.
	Metrics *ratelimit.Metrics
	// Logger receives Redis failures, at most one line per LogInterval;
	// nil means slog.Default().
	Logger *slog.Logger
}

// Store shares budgets between instances through Redis, with GCRA on
// Redis's clock. It implements ratelimit.Store and returns an error only
// for an invalid limit: Redis failures are handled by Options.OnError,
// logged and counted.
type Store struct {
	opts      Options
	downUntil atomic.Int64 // Unix nanoseconds until which Redis is skipped
	failures  *logthrottle.Throttle
}

// New validates opts and returns a Store.
func New(opts Options) (*Store, error) {
	switch {
	case opts.Client == nil:
		return nil, errors.New("redisstore: Options.Client is nil; pass a Redis client, for example from NewClient")
	case opts.OnError != FailOpen && opts.OnError != FailClosed:
		return nil, fmt.Errorf("redisstore: Options.OnError %d is not FailOpen or FailClosed", opts.OnError)
	case opts.Timeout < 0:
		return nil, fmt.Errorf("redisstore: Options.Timeout %s is negative", opts.Timeout)
	case opts.RetryInterval < 0:
		return nil, fmt.Errorf("redisstore: Options.RetryInterval %s is negative", opts.RetryInterval)
	}
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if opts.Timeout == 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.RetryInterval == 0 {
		opts.RetryInterval = DefaultRetryInterval
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Local == nil && opts.OnError == FailOpen {
		local, err := ratelimit.NewMemory[ratelimit.Key](ratelimit.MemoryOptions{Clock: opts.Clock})
		if err != nil {
			return nil, err
		}
		opts.Local = local
	}
	return &Store{opts: opts, failures: logthrottle.New(LogInterval)}, nil
}

// Take implements ratelimit.Store.
func (s *Store) Take(ctx context.Context, key ratelimit.Key, limit ratelimit.Limit, maxWait time.Duration) (ratelimit.Result, error) {
	if err := limit.Validate(); err != nil {
		return ratelimit.Result{}, err
	}
	now := s.opts.Clock.Now()
	if now.UnixNano() < s.downUntil.Load() {
		return s.fallback(ctx, key, limit, maxWait, nil)
	}
	res, err := s.takeRedis(ctx, key, limit, maxWait)
	if err == nil {
		return res, nil
	}
	if ctx.Err() != nil {
		// The caller gave up; Redis is not to blame.
		return ratelimit.Result{}, fmt.Errorf("redisstore: %w", ctx.Err())
	}
	s.downUntil.Store(now.Add(s.opts.RetryInterval).UnixNano())
	return s.fallback(ctx, key, limit, maxWait, err)
}

// takeRedis runs the GCRA script.
func (s *Store) takeRedis(ctx context.Context, key ratelimit.Key, limit ratelimit.Limit, maxWait time.Duration) (ratelimit.Result, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	interval := ceilMicros(limit.Interval())
	window := interval * int64(limit.Burst)
	keys := []string{redisKey(s.opts.Prefix, key.Scope, key.Subject)}
	reply, err := gcraScript.Run(ctx, s.opts.Client, keys, interval, window, max(maxWait, 0).Microseconds()).Int64Slice()
	if err != nil {
		return ratelimit.Result{}, err
	}
	if len(reply) != 3 {
		return ratelimit.Result{}, fmt.Errorf("redisstore: GCRA script returned %d values, want 3", len(reply))
	}
	wait := time.Duration(reply[1]) * time.Microsecond
	ahead := time.Duration(reply[2]) * time.Microsecond
	return ratelimit.NewResult(limit, reply[0] == 1, wait, ahead), nil
}

// fallback decides without Redis according to OnError. cause is the Redis
// error that started the fallback, or nil while Redis is being skipped.
func (s *Store) fallback(ctx context.Context, key ratelimit.Key, limit ratelimit.Limit, maxWait time.Duration, cause error) (ratelimit.Result, error) {
	s.opts.Metrics.ObserveFallback(s.opts.OnError.String())
	if ok, suppressed := s.failures.Allow(s.opts.Clock.Now()); ok {
		attrs := []any{"mode", s.opts.OnError.String(), "retry_in", s.opts.RetryInterval, "suppressed", suppressed}
		if cause != nil {
			attrs = append(attrs, "err", cause)
		}
		s.opts.Logger.WarnContext(ctx, "rate limit store Redis unavailable; deciding without it", attrs...)
	}
	if s.opts.OnError == FailOpen {
		return s.opts.Local.Take(ctx, key, limit, maxWait)
	}
	// A closed store rejects until its next attempt on Redis and reports
	// that wait, at least one second, so clients never retry at once.
	wait := time.Duration(s.downUntil.Load() - s.opts.Clock.Now().UnixNano())
	return ratelimit.Result{Limit: limit, RetryAfter: max(wait, time.Second)}, nil
}

// ceilMicros returns d in microseconds, rounded up, so that the coarser
// unit never admits more than the limit.
func ceilMicros(d time.Duration) int64 {
	return int64((d + time.Microsecond - 1) / time.Microsecond)
}
