package ratelimit

import (
	"context"
	"time"

	"github.com/bulwark-go/bulwark/platform/security/internal/clock"
)

// Clock is the source of time of a limiter. Tests pass a fake clock, and nil
// means the machine's clock.
type Clock = clock.Clock

// Timer is a one-shot timer created by a Clock.
type Timer = clock.Timer

// Key names one budget: what is limited (Scope) and who is limited
// (Subject). Keys with the same Scope and different Subjects never share a
// budget.
type Key struct {
	// Scope is what the limit protects: an endpoint, a route, a topic or a
	// limiter name.
	Scope string
	// Subject is who is limited: a service identity, an API client, an IP
	// prefix or a username digest.
	Subject string
}

// Result is the decision on one request.
type Result struct {
	// Allowed reports whether the request may proceed.
	Allowed bool
	// Limit is the limit the request was checked against.
	Limit Limit
	// Remaining is the number of further requests the key may send right
	// now.
	Remaining int
	// RetryAfter is the exact wait until the key's next request would be
	// allowed. It is zero when the next request would pass at once, and
	// always positive when Allowed is false.
	RetryAfter time.Duration
	// ResetAfter is the time until the key has its whole burst again.
	ResetAfter time.Duration
	// Delay is the wait an allowed request must observe before it acts. It is
	// zero except for reservations made with a positive maximum wait.
	Delay time.Duration
}

// Store decides requests against limits. Memory keeps budgets in this
// process, and the redisstore package shares them between processes.
type Store interface {
	// Take spends one request of key's budget under limit. With maxWait
	// zero it admits only a request that may proceed now. With a positive
	// maxWait it also admits a request that may proceed within maxWait,
	// reserving its place, and reports the wait in Result.Delay. The caller
	// must wait that long before acting. A rejected request spends nothing.
	// An error means the store could not decide, and Result is then the
	// zero value.
	Take(ctx context.Context, key Key, limit Limit, maxWait time.Duration) (Result, error)
}

// NewResult builds the Result of a decision from the state a GCRA store
// returns. The inputs are whether the request was admitted, the wait (Delay
// when admitted, RetryAfter when rejected) and ahead. Ahead is how far the
// key's theoretical arrival time lies after now once the decision is stored.
// Stores other than Memory use it so that every store reports the same
// fields the same way.
func NewResult(limit Limit, allowed bool, wait, ahead time.Duration) Result {
	interval := int64(limit.Interval())
	d := decision{limit: limit, interval: interval, window: int64(limit.Burst) * interval}
	return d.result(allowed, int64(wait), int64(ahead))
}

// decision contains a limit with its interval and window in nanoseconds, so
// that a request computes the division in Interval once.
type decision struct {
	limit            Limit
	interval, window int64
}

func (d *decision) result(allowed bool, wait, ahead int64) Result {
	r := Result{Allowed: allowed, Limit: d.limit, ResetAfter: time.Duration(max(ahead, 0))}
	if !allowed {
		// A rejection always carries a positive wait, so that a client
		// that receives a rejection never retries at once.
		r.RetryAfter = time.Duration(max(wait, 1))
		return r
	}
	r.Delay = time.Duration(max(wait, 0))
	if ahead < d.window {
		r.Remaining = min(int((d.window-ahead)/d.interval), d.limit.Burst)
	}
	r.RetryAfter = time.Duration(max(ahead+d.interval-d.window, 0))
	return r
}
