package registry

import (
	"math/rand/v2"
	"time"
)

// Timing of renewals, rotations and retries.
const (
	// renewNumerator/renewDenominator is the part of the granted duration
	// after which the lease is renewed: two thirds.
	renewNumerator, renewDenominator = 2, 3

	// rotateLeadDivisor sets how long before the lease ends a new token is
	// fetched and switched to: a quarter of the lease's first duration. The
	// old token keeps working during the switch.
	rotateLeadDivisor = 4

	// jitterDivisor bounds the random jitter subtracted from each scheduled
	// time to a tenth of the granted duration, so that many instances do not
	// reach Vault at the same moment.
	jitterDivisor = 10

	// minRetryDelay and maxRetryDelay bound the exponential backoff after a
	// failed rotation.
	minRetryDelay = time.Second
	maxRetryDelay = 30 * time.Second

	// minForcedRotationGap is the shortest time between two rotations that
	// Consul's "ACL not found" errors trigger, so that a burst of such errors
	// costs one new token.
	minForcedRotationGap = 10 * time.Second
)

// step is the next action on a lease.
type step int

const (
	stepRenew step = iota + 1
	stepRotate
)

func (s step) String() string {
	switch s {
	case stepRenew:
		return "renew"
	case stepRotate:
		return "rotate"
	default:
		return "unknown"
	}
}

// lease is the state of a token's Vault lease.
type lease struct {
	ttl       time.Duration // duration at issue, which renewals request again
	renewable bool
	renewedAt time.Time     // when the last grant started
	granted   time.Duration // duration of the last grant
	jitter    time.Duration // subtracted from the next scheduled time
}

func newLease(t Token, jitter time.Duration) lease {
	return lease{
		ttl:       t.LeaseDuration,
		renewable: t.Renewable,
		renewedAt: t.IssuedAt,
		granted:   t.LeaseDuration,
		jitter:    jitter,
	}
}

// expiresAt returns when Vault revokes the lease, and with it the token,
// unless it is renewed.
func (l lease) expiresAt() time.Time {
	return l.renewedAt.Add(l.granted)
}

// rotateAt returns when to switch to a new token.
func (l lease) rotateAt() time.Time {
	return l.expiresAt().Add(-l.ttl/rotateLeadDivisor - l.jitter)
}

// renewAt returns when to renew the lease.
func (l lease) renewAt() time.Time {
	return l.renewedAt.Add(l.granted*renewNumerator/renewDenominator - l.jitter)
}

// next returns the next step and when to take it. A renewal that Vault caps
// at the role's max_ttl grants less time, which moves renewAt past rotateAt,
// so the lease is rotated instead of renewed for a few more seconds.
func (l lease) next() (step, time.Time) {
	if l.renewable && l.renewAt().Before(l.rotateAt()) {
		return stepRenew, l.renewAt()
	}
	return stepRotate, l.rotateAt()
}

// renewed returns the lease after a renewal at now that granted d.
func (l lease) renewed(now time.Time, d, jitter time.Duration) lease {
	l.renewedAt = now
	l.granted = d
	l.jitter = jitter
	return l
}

// randomJitter returns a random duration in [0, d/jitterDivisor).
func randomJitter(d time.Duration) time.Duration {
	limit := int64(d / jitterDivisor)
	if limit <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(limit))
}

// retryDelay returns the backoff after the given number of consecutive
// failures, starting at minRetryDelay and doubling up to maxRetryDelay.
func retryDelay(failures int) time.Duration {
	d := minRetryDelay
	for i := 1; i < failures && d < maxRetryDelay; i++ {
		d *= 2
	}
	return min(d, maxRetryDelay)
}
