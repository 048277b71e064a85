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

// ClassUsernameIP is the metrics key class of the budget of one username
// from one client address.
const ClassUsernameIP = "username_ip"

// LoginLimits are the limits on password attempts. An attempt passes only
// when all three budgets allow it.
type LoginLimits struct {
	// UsernameIP limits every attempt on one account from one client
	// address, against brute force from one address. Failures elsewhere do
	// not spend it, so a guesser cannot lock the owner out with it.
	UsernameIP ratelimit.Limit
	// UsernameFailures limits failed attempts on one account from all
	// addresses together: the hard cap on guessing spread over many
	// addresses. Only failures spend it, and it is checked before the
	// password, so once a guesser has spent it the owner is locked out
	// too, until it refills. Make it looser than UsernameIP.
	UsernameFailures ratelimit.Limit
	// IP limits attempts from one client address (an IPv6 /64 by
	// default) on any account, against trying one password on many
	// accounts.
	IP ratelimit.Limit
}

// Validate checks the three limits.
func (l LoginLimits) Validate() error {
	if err := l.UsernameIP.Validate(); err != nil {
		return fmt.Errorf("httplimit: login username_ip limit: %w", err)
	}
	if err := l.UsernameFailures.Validate(); err != nil {
		return fmt.Errorf("httplimit: login username_failures limit: %w", err)
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
	// Metrics counts decisions under the endpoint "login", and nil counts
	// nothing.
	Metrics *ratelimit.Metrics
	// Logger receives store failures and failed attempts that the store did
	// not count, at most one line per LogInterval for all of them together.
	// Nil means slog.Default().
	Logger *slog.Logger
}

// Login limits password attempts per client address, per username and
// client address, and per username across addresses for failed attempts.
// The gateway's login handler calls Attempt (or Allow) after parsing the
// username and before checking the password, and Fail (or Failed) after a
// wrong password.
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

// Attempt decides one password attempt and returns the first rejection, or
// the last allowed result. It spends one attempt of the client address,
// then one of the (username, address) pair. It then checks, without
// spending it, whether the username's failure budget has room (see
// ProbeLimit). Budgets that come after a rejection are not spent, so a
// guesser cannot drain a pair or a username faster than its address allows. The
// username is compared case-insensitively and without surrounding spaces,
// and only its SHA-256 digest is stored.
//
// NOTE: the failure budget is spent after the password check. Attempts on
// one username that are in flight at the same moment therefore all pass its
// check, and the cap can be exceeded by that many attempts. Fail still
// counts each of their failures, so the excess delays later attempts by as
// much. Each admitted probe also spends one probe interval, so B attempts
// within about a millisecond may find only B-1 failures of room.
func (l *Login) Attempt(ctx context.Context, username string, ip netip.Addr) (ratelimit.Result, error) {
	limits := l.opts.Limits()
	ipSubject := l.opts.ClientIP.Subject(ip)
	user := digest(NormalizeUsername(username))

	byIP, err := l.opts.Store.Take(ctx, ratelimit.Key{Scope: loginScope, Subject: "ip:" + ipSubject}, limits.IP, 0)
	if err != nil {
		return ratelimit.Result{}, err
	}
	l.opts.Metrics.Observe(loginScope, ratelimit.ClassIP, byIP.Allowed)
	if !byIP.Allowed {
		return byIP, nil
	}

	pairKey := ratelimit.Key{Scope: loginScope, Subject: "user-ip:" + user + ":" + ipSubject}
	byPair, err := l.opts.Store.Take(ctx, pairKey, limits.UsernameIP, 0)
	if err != nil {
		return ratelimit.Result{}, err
	}
	l.opts.Metrics.Observe(loginScope, ClassUsernameIP, byPair.Allowed)
	if !byPair.Allowed {
		return byPair, nil
	}

	probe, err := l.opts.Store.Take(ctx, failureKey(user), ProbeLimit(limits.UsernameFailures), 0)
	if err != nil {
		return ratelimit.Result{}, err
	}
	l.opts.Metrics.Observe(loginScope, ratelimit.ClassUsername, probe.Allowed)
	if !probe.Allowed {
		return probe, nil
	}
	return byPair, nil
}

// Fail spends one failed attempt of username's failure budget. The gateway
// calls it when the password check rejected an attempt that Attempt
// allowed. The failure is counted even when attempts in flight at the same
// time spent the budget first, because the store reserves it up to one
// window ahead. That reservation lengthens the wait of the next attempt. Only a failure more
// than a whole window past the budget goes uncounted, and the returned
// result then has Allowed false.
func (l *Login) Fail(ctx context.Context, username string) (ratelimit.Result, error) {
	limit := l.opts.Limits().UsernameFailures
	return l.opts.Store.Take(ctx, failureKey(digest(NormalizeUsername(username))), limit, limit.Window())
}

func failureKey(userDigest string) ratelimit.Key {
	return ratelimit.Key{Scope: loginScope, Subject: "user:" + userDigest}
}

// Allow is Attempt for callers that have the client address as text, and
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
		l.logThrottled("login rate limit store failed; rejecting the attempt", "err", err)
		return false, time.Second
	}
	return res.Allowed, res.RetryAfter
}

// Failed is Fail for a gateway's login limiter interface. A failure that
// the store did not count, because of an error or a rejection, is logged.
func (l *Login) Failed(username, _ string) {
	res, err := l.Fail(context.Background(), username)
	if err != nil {
		l.logThrottled("login rate limit store failed; a failed attempt was not counted", "err", err)
		return
	}
	if !res.Allowed {
		l.logThrottled("failed login attempt not counted: the username's failure budget is a whole window " +
			"past its limit, or the store rejects while Redis is unreachable")
	}
}

// logThrottled logs an error at most once per LogInterval, with the count
// of lines suppressed since the last one.
func (l *Login) logThrottled(msg string, args ...any) {
	if pass, suppressed := l.failures.Allow(time.Now()); pass {
		l.opts.Logger.Error(msg, append(args, "suppressed", suppressed)...)
	}
}

// NormalizeUsername returns the form of a username that login budgets are
// keyed by: lowercase, without surrounding white space.
func NormalizeUsername(username string) string {
	return strings.ToLower(strings.TrimSpace(username))
}
