package registry

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// rotator keeps a Consul token valid by renewing its lease. Before the lease
// ends, at the role's max_ttl or after a failed renewal, it obtains a new token
// and passes it to apply, which switches the registry to it.
type rotator struct {
	issuer tokenIssuer
	apply  func(ctx context.Context, t Token) error
	clock  clock
	log    *slog.Logger
	jitter func(time.Duration) time.Duration

	force chan struct{} // requests a rotation now, with a buffer of one

	mu          sync.Mutex
	current     Token
	lease       lease
	pending     Token     // issued but not yet applied, and reused by the next try
	failures    int       // consecutive failed rotations
	lastErr     error     // last failed renewal or rotation, or nil after a rotation
	lastAttempt time.Time // end of the last rotation or failed try
}

func newRotator(issuer tokenIssuer, initial Token, apply func(context.Context, Token) error, c clock,
	log *slog.Logger, jitter func(time.Duration) time.Duration,
) *rotator {
	return &rotator{
		issuer:      issuer,
		apply:       apply,
		clock:       c,
		log:         log,
		jitter:      jitter,
		force:       make(chan struct{}, 1),
		current:     initial,
		lease:       newLease(initial, jitter(initial.LeaseDuration)),
		lastAttempt: c.Now(),
	}
}

// run renews and rotates until ctx ends.
func (r *rotator) run(ctx context.Context) {
	for {
		next, at := r.schedule()
		wait := max(at.Sub(r.clock.Now()), 0)
		timer, stop := r.clock.NewTimer(wait)

		select {
		case <-ctx.Done():
			stop()
			return
		case <-timer:
		case <-r.force:
			stop()
			if !r.allowForcedRotation() {
				continue
			}
			r.log.Warn("Consul rejected the token as unknown; replacing it now",
				slog.Any("token", r.token()))
			next = stepRotate
		}

		if next == stepRenew && r.renew(ctx) {
			continue
		}
		r.rotate(ctx)
	}
}

// schedule returns the next step: a retry after a failed rotation, or the
// lease's own next step.
func (r *rotator) schedule() (step, time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failures > 0 {
		return stepRotate, r.lastAttempt.Add(retryDelay(r.failures))
	}
	return r.lease.next()
}

// allowForcedRotation reports whether enough time has passed since the last
// rotation for a forced one.
func (r *rotator) allowForcedRotation() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.clock.Now().Sub(r.lastAttempt) >= minForcedRotationGap
}

// renew extends the current lease and reports whether it succeeded. A failed
// renewal leads to a rotation, because the lease may be gone.
func (r *rotator) renew(ctx context.Context) bool {
	r.mu.Lock()
	current, ttl := r.current, r.lease.ttl
	r.mu.Unlock()

	granted, err := r.issuer.renew(ctx, current, ttl)
	if ctx.Err() != nil {
		return true
	}
	if err != nil {
		err = redactSecret(err, current)
		r.log.Warn("renewing the Consul token's lease failed; replacing the token",
			slog.Any("token", current), slog.Any("error", err))
		r.mu.Lock()
		r.lastErr = err
		r.mu.Unlock()
		return false
	}

	now := r.clock.Now()
	r.mu.Lock()
	r.lease = r.lease.renewed(now, granted, r.jitter(granted))
	expires := r.lease.expiresAt()
	r.mu.Unlock()
	r.log.Debug("renewed the Consul token's lease", slog.Any("token", current),
		slog.Duration("granted", granted), slog.Time("expires_at", expires))
	return true
}

// rotate obtains a new token, unless one is pending from a failed try, and
// applies it. On failure it schedules a retry with backoff.
func (r *rotator) rotate(ctx context.Context) {
	r.mu.Lock()
	candidate, old := r.pending, r.current
	r.mu.Unlock()

	if candidate.IsZero() || !r.clock.Now().Before(newLease(candidate, 0).rotateAt()) {
		t, err := r.issuer.issue(ctx)
		if err != nil {
			r.fail(ctx, Token{}, err)
			return
		}
		candidate = t
		r.log.Info("Vault issued a new Consul token", slog.Any("token", candidate))
	}
	if err := r.apply(ctx, candidate); err != nil {
		r.fail(ctx, candidate, redactSecret(redactSecret(err, candidate), old))
		return
	}

	now := r.clock.Now()
	r.mu.Lock()
	oldExpires := r.lease.expiresAt()
	r.current = candidate
	r.lease = newLease(candidate, r.jitter(candidate.LeaseDuration))
	r.pending = Token{}
	r.failures = 0
	r.lastErr = nil
	r.lastAttempt = now
	r.mu.Unlock()
	r.log.Info("switched to the new Consul token", slog.Any("token", candidate),
		slog.String("previous_accessor_id", old.AccessorID), slog.Time("previous_expires_at", oldExpires))
}

// fail records a failed rotation. pending is the issued token that could not
// be applied, or the zero Token when issuing failed.
func (r *rotator) fail(ctx context.Context, pending Token, err error) {
	if ctx.Err() != nil {
		return
	}
	r.mu.Lock()
	r.pending = pending
	r.failures++
	r.lastErr = err
	r.lastAttempt = r.clock.Now()
	failures, expires := r.failures, r.lease.expiresAt()
	r.mu.Unlock()
	r.log.Error("replacing the Consul token failed; retrying", slog.Any("error", err),
		slog.Int("failures", failures), slog.Duration("retry_in", retryDelay(failures)),
		slog.Time("current_expires_at", expires))
}

// invalidate requests a rotation now, for example after Consul answered that
// it does not know the token. It does not block.
func (r *rotator) invalidate() {
	select {
	case r.force <- struct{}{}:
	default:
	}
}

// token returns the token in use.
func (r *rotator) token() Token {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.current
}

// err returns an error once the current token's lease has ended without a
// replacement, and nil while the token is valid.
func (r *rotator) err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	expires := r.lease.expiresAt()
	if r.clock.Now().Before(expires) {
		return nil
	}
	if r.lastErr == nil {
		return fmt.Errorf("registry: Consul token %s expired at %s and was not replaced",
			r.current.AccessorID, expires.Format(time.RFC3339))
	}
	return fmt.Errorf("registry: Consul token %s expired at %s and was not replaced: %w",
		r.current.AccessorID, expires.Format(time.RFC3339), r.lastErr)
}
