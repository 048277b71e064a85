package vaultclient

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	vault "github.com/hashicorp/vault/api"

	"github.com/bulwark-go/bulwark/platform/security/internal/backoff"
)

// renewFraction is the part of a token's TTL after which it is renewed.
const renewFraction = 2.0 / 3.0

// jitterFraction is the largest part of the TTL subtracted at random from
// the renewal time, so that services started together renew apart.
const jitterFraction = 0.1

// tokenState is the current token and its lifetime.
type tokenState struct {
	mu        sync.Mutex
	token     string
	accessor  string
	ttl       time.Duration // TTL granted at the last login or renewal
	loginTTL  time.Duration // TTL granted at the last login
	obtained  time.Time     // time of the last login or renewal
	expiry    time.Time
	renewable bool
}

type tokenSnapshot struct {
	token, accessor string
	ttl, loginTTL   time.Duration
	obtained        time.Time
	expiry          time.Time
	renewable       bool
}

func (s *tokenState) snapshot() tokenSnapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	return tokenSnapshot{
		token: s.token, accessor: s.accessor, ttl: s.ttl, loginTTL: s.loginTTL,
		obtained: s.obtained, expiry: s.expiry, renewable: s.renewable,
	}
}

func (s *tokenState) set(auth *vault.SecretAuth, now time.Time, login bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ttl := time.Duration(auth.LeaseDuration) * time.Second
	if login {
		s.token = auth.ClientToken
		s.accessor = auth.Accessor
		s.loginTTL = ttl
	}
	s.ttl = ttl
	s.obtained = now
	s.expiry = now.Add(ttl)
	s.renewable = auth.Renewable
}

func (c *Client) login(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 4*c.cfg.RequestTimeout)
	defer cancel()
	auth, err := c.auth.login(ctx)
	if err != nil {
		return err
	}
	if auth.LeaseDuration <= 0 {
		// A token without a TTL (a root or periodic-less token) is not
		// what an AppRole should return.
		return errors.New("vaultclient: AppRole login returned a token without a TTL; set token_ttl on the " +
			"AppRole role")
	}
	c.state.set(auth, c.cfg.clock.Now(), true)
	c.api.SetToken(auth.ClientToken)
	c.log.Info("logged in to Vault", "accessor", auth.Accessor,
		"ttl", time.Duration(auth.LeaseDuration)*time.Second, "renewable", auth.Renewable)
	return nil
}

func (c *Client) start(ctx context.Context) {
	ctx, c.cancel = context.WithCancel(ctx)
	go c.run(ctx)
}

// run keeps the token valid: it renews at about two thirds of the TTL,
// logs in again when the token cannot be renewed, and retries with backoff
// while Vault is unreachable.
//
// NOTE: the schedule follows the clock of the machine. A machine that
// sleeps past the token's expiry wakes with an expired token. The first
// renewal then fails and the loop logs in again.
func (c *Client) run(ctx context.Context) {
	defer close(c.done)
	policy := backoff.Policy{Initial: time.Second, Max: c.cfg.MaxRetryDelay}
	failures := 0
	next := c.nextRenewal()
	for {
		timer := c.cfg.clock.NewTimer(next.Sub(c.cfg.clock.Now()))
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C():
		}

		err := c.refresh(ctx)
		if err == nil {
			failures = 0
			next = c.nextRenewal()
			continue
		}
		if ctx.Err() != nil {
			return
		}
		failures++
		delay := policy.Delay(failures)
		next = c.cfg.clock.Now().Add(delay)
		c.log.Warn("Vault token refresh failed; retrying", "error", err, "attempt", failures,
			"retry_in", delay, "token_expiry", c.state.snapshot().expiry)
	}
}

// refresh renews the token, or logs in again when renewal is not possible:
// the token is not renewable, has expired, reached its max TTL, or Vault
// rejected the renewal.
func (c *Client) refresh(ctx context.Context) error {
	s := c.state.snapshot()
	now := c.cfg.clock.Now()
	if !s.renewable || !now.Before(s.expiry) || s.ttl < s.loginTTL/3 {
		return c.login(ctx)
	}
	rctx, cancel := context.WithTimeout(ctx, 4*c.cfg.RequestTimeout)
	auth, err := c.auth.renewSelf(rctx, s.token, s.loginTTL)
	cancel()
	if err != nil {
		if !isRejection(err) {
			return err
		}
		c.log.Info("Vault rejected the token renewal; logging in again", "accessor", s.accessor, "error", err)
		return c.login(ctx)
	}
	c.state.set(auth, now, false)
	granted := time.Duration(auth.LeaseDuration) * time.Second
	c.log.Info("renewed Vault token", "accessor", s.accessor, "ttl", granted)
	return nil
}

// nextRenewal returns the time to act next: two thirds into the current
// TTL, minus up to a tenth of the TTL at random.
func (c *Client) nextRenewal() time.Time {
	s := c.state.snapshot()
	at := time.Duration(float64(s.ttl) * renewFraction)
	if jitter := time.Duration(float64(s.ttl) * jitterFraction); jitter > 0 {
		at -= rand.N(jitter)
	}
	return s.obtained.Add(at)
}

// isRejection reports whether Vault responded to a renewal with a client error,
// which no retry of the same token can fix (expired, revoked, or denied).
func isRejection(err error) bool {
	var re *vault.ResponseError
	if !errors.As(err, &re) {
		return false
	}
	return re.StatusCode == http.StatusBadRequest || re.StatusCode == http.StatusForbidden ||
		re.StatusCode == http.StatusUnauthorized
}
