package httplimit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/bulwark-go/bulwark/platform/security/ratelimit"
	"github.com/bulwark-go/bulwark/platform/security/ratelimit/internal/logthrottle"
)

// loginScope is the Scope of every login budget.
const loginScope = "login"

// LoginLimits are the limits on password attempts.
type LoginLimits struct {
	// Username limits attempts on one account from anywhere, against
	// guessing one user's password from many addresses.
	Username ratelimit.Limit
	// IP limits attempts from one client address (an IPv6 /64 by
	// default) on any account, against trying one password on many
	// accounts.
	IP ratelimit.Limit
}

// Validate checks both limits.
func (l LoginLimits) Validate() error {
	if err := l.Username.Validate(); err != nil {
		return fmt.Errorf("httplimit: login username limit: %w", err)
	}
	if err := l.IP.Validate(); err != nil {
		return fmt.Errorf("httplimit: login IP limit: %w", err)
	}
	return nil
}

// LoginOptions configures NewLogin.
type LoginOptions struct {
	// Store decides attempts. Required.
	Store ratelimit.Store
	// Limits returns the limits, called for every attempt. Required.
	Limits func() LoginLimits
	// ClientIP turns a client address into its subject. Required.
	ClientIP *ClientIPResolver
	// Metrics counts decisions under the endpoint "login"; nil counts
	// nothing.
	Metrics *ratelimit.Metrics
	// Logger receives store failures, at most one line per LogInterval;
	// nil means slog.Default().
	Logger *slog.Logger
}

// Login limits password attempts per username and per client address. The
// gateway's login handler calls Attempt (or Allow) after parsing the
// username and before checking the password.
type Login struct {
	opts     LoginOptions
	failures *logthrottle.Throttle
}

// NewLogin validates opts and returns the limiter.
func NewLogin(opts LoginOptions) (*Login, error) {
	switch {
	case opts.Store == nil:
		return nil, errors.New("httplimit: LoginOptions.Store is nil; pass a ratelimit.Memory or a redisstore store")
	case opts.Limits == nil:
		return nil, errors.New("httplimit: LoginOptions.Limits is nil; pass the login limits function of a config.Reloader or a fixed one")
	case opts.ClientIP == nil:
		return nil, errors.New("httplimit: LoginOptions.ClientIP is nil; pass the gateway's ClientIPResolver")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Login{opts: opts, failures: logthrottle.New(LogInterval)}, nil
}

// Attempt spends one attempt of the client address and, if that passes, one
// of the username, and returns the decision. The address is checked first
// so that attempts from an address over its limit spend nothing of the
// username's budget: a guesser cannot lock a user out faster than its own
// address allows. The username is compared case-insensitively and without
// surrounding spaces, and only its SHA-256 digest is stored.
func (l *Login) Attempt(ctx context.Context, username string, ip netip.Addr) (ratelimit.Result, error) {
	limits := l.opts.Limits()
	byIP, err := l.opts.Store.Take(ctx, ratelimit.Key{Scope: loginScope, Subject: "ip:" + l.opts.ClientIP.Subject(ip)}, limits.IP, 0)
	if err != nil {
		return ratelimit.Result{}, err
	}
	l.opts.Metrics.Observe(loginScope, ratelimit.ClassIP, byIP.Allowed)
	if !byIP.Allowed {
		return byIP, nil
	}
	user := ratelimit.Key{Scope: loginScope, Subject: "user:" + digest(NormalizeUsername(username))}
	byUser, err := l.opts.Store.Take(ctx, user, limits.Username, 0)
	if err != nil {
		return ratelimit.Result{}, err
	}
	l.opts.Metrics.Observe(loginScope, ratelimit.ClassUsername, byUser.Allowed)
	return byUser, nil
}

// Allow is Attempt for callers that hold the client address as text, and
// fits a gateway's login limiter interface. An address that does not parse
// is limited as the zero address ("unknown"). A store error rejects the
// attempt with a wait of one second and is logged, so login fails closed
// unless the store itself falls back (see redisstore).
func (l *Login) Allow(username, ip string) (ok bool, retryAfter time.Duration) {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		addr = netip.Addr{}
	}
	res, err := l.Attempt(context.Background(), username, addr)
	if err != nil {
		if pass, suppressed := l.failures.Allow(time.Now()); pass {
			l.opts.Logger.Error("login rate limit store failed; rejecting the attempt", "err", err, "suppressed", suppressed)
		}
		return false, time.Second
	}
	return res.Allowed, res.RetryAfter
}

// NormalizeUsername returns the form of a username that login budgets are
// keyed by: lowercase, without surrounding white space.
func NormalizeUsername(username string) string {
	return strings.ToLower(strings.TrimSpace(username))
}
