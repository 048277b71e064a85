package httplimit

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/platform/security/internal/clock"
	"github.com/bulwark-go/bulwark/platform/security/ratelimit"
)

func newLogin(t *testing.T, limits LoginLimits, store ratelimit.Store) (*Login, *clock.Fake) {
	t.Helper()
	fake := clock.NewFake(testEpoch)
	if store == nil {
		mem, err := ratelimit.NewMemory[ratelimit.Key](ratelimit.MemoryOptions{Clock: fake})
		if err != nil {
			t.Fatal(err)
		}
		store = mem
	}
	l, err := NewLogin(LoginOptions{Store: store, Limits: func() LoginLimits { return limits }, ClientIP: mustResolver(t, ClientIPOptions{})})
	if err != nil {
		t.Fatal(err)
	}
	return l, fake
}

func attempt(t *testing.T, l *Login, user, ip string) ratelimit.Result {
	t.Helper()
	res, err := l.Attempt(context.Background(), user, netip.MustParseAddr(ip))
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// testLoginLimits are the shipped defaults: 5/m per pair, 30/h burst 10
// failures per username, 20/m per address.
var testLoginLimits = LoginLimits{
	UsernameIP:       ratelimit.PerMinute(5, 5),
	UsernameFailures: ratelimit.PerHour(30, 10),
	IP:               ratelimit.PerMinute(20, 20),
}

// fail makes one attempt that the password check then rejects, and returns
// the attempt's decision.
func fail(t *testing.T, l *Login, user, ip string) ratelimit.Result {
	t.Helper()
	res := attempt(t, l, user, ip)
	if res.Allowed {
		if _, err := l.Fail(context.Background(), user); err != nil {
			t.Fatal(err)
		}
	}
	return res
}

// TestLoginFailuresElsewhereDoNotLockOut is the lockout attack: wrong
// passwords for the victim from other addresses do not stop the victim's
// own attempt from a fresh address.
func TestLoginFailuresElsewhereDoNotLockOut(t *testing.T) {
	l, fake := newLogin(t, testLoginLimits, nil)
	for i := range 5 {
		if !fail(t, l, "victim@example.com", fmt.Sprintf("203.0.113.%d", i+1)).Allowed {
			t.Fatalf("attacker attempt %d rejected, want it allowed within every budget", i+1)
		}
		fake.Advance(time.Second)
	}
	// Five more from one address of the five: its pair budget is spent.
	for range 5 {
		fail(t, l, "victim@example.com", "203.0.113.1")
	}
	if attempt(t, l, "victim@example.com", "203.0.113.1").Allowed {
		t.Fatal("sixth attempt from one address allowed past the pair budget")
	}
	if res := attempt(t, l, "Victim@Example.com", "198.51.100.7"); !res.Allowed {
		t.Fatalf("victim from a fresh address rejected (RetryAfter %s), want allowed", res.RetryAfter)
	}
}

// TestLoginBruteForceOneAddress guesses from one address: the pair budget
// rejects the sixth attempt, with the wait until it refills.
func TestLoginBruteForceOneAddress(t *testing.T) {
	l, fake := newLogin(t, testLoginLimits, nil)
	for i := range 5 {
		if !fail(t, l, "alice@example.com", "203.0.113.1").Allowed {
			t.Fatalf("attempt %d rejected within the pair budget", i+1)
		}
	}
	res := attempt(t, l, " Alice@Example.com ", "203.0.113.1")
	if res.Allowed {
		t.Fatal("sixth attempt, with other case and spaces, was allowed")
	}
	if res.RetryAfter != 12*time.Second {
		t.Fatalf("RetryAfter = %s, want 12s (one pair interval)", res.RetryAfter)
	}
	if !attempt(t, l, "bob@example.com", "203.0.113.1").Allowed {
		t.Fatal("another user from the same address was rejected")
	}
	fake.Advance(res.RetryAfter)
	if !attempt(t, l, "alice@example.com", "203.0.113.1").Allowed {
		t.Fatal("attempt after RetryAfter rejected")
	}
}

// TestLoginDistributedGuessingCapped guesses one user's password from many
// addresses: the username's failure budget stops it, for every address,
// the owner's included.
func TestLoginDistributedGuessingCapped(t *testing.T) {
	l, fake := newLogin(t, testLoginLimits, nil)
	for i := range 10 {
		if !fail(t, l, "alice@example.com", fmt.Sprintf("203.0.113.%d", i+1)).Allowed {
			t.Fatalf("failure %d rejected within the burst of 10", i+1)
		}
		fake.Advance(time.Second)
	}
	res := attempt(t, l, "alice@example.com", "198.51.100.7")
	if res.Allowed {
		t.Fatal("eleventh guess from a new address allowed past the failure cap")
	}
	// The budget holds ten intervals of 2 minutes ahead of the start, and
	// 10 s have passed: the next failure fits in 2 min minus 10 s, plus
	// the probes' own cost of about 1 ms each.
	want := 2*time.Minute - 10*time.Second
	if res.RetryAfter < want || res.RetryAfter > want+20*time.Millisecond {
		t.Fatalf("RetryAfter = %s, want %s plus at most 20ms", res.RetryAfter, want)
	}
	if !attempt(t, l, "bob@example.com", "198.51.100.7").Allowed {
		t.Fatal("another user was rejected by alice's cap")
	}
	fake.Advance(res.RetryAfter)
	if !attempt(t, l, "alice@example.com", "198.51.100.8").Allowed {
		t.Fatal("attempt after RetryAfter rejected")
	}
}

// TestLoginSuccessSpendsNoFailureBudget logs in correctly many times: only
// failures spend the username's failure budget.
func TestLoginSuccessSpendsNoFailureBudget(t *testing.T) {
	l, fake := newLogin(t, testLoginLimits, nil)
	for i := range 40 {
		// One success a minute from rotating addresses stays within the
		// pair and address budgets; 40 attempts exceed the burst of 10.
		if res := attempt(t, l, "alice@example.com", fmt.Sprintf("203.0.113.%d", i%3+1)); !res.Allowed {
			t.Fatalf("successful attempt %d rejected (RetryAfter %s)", i+1, res.RetryAfter)
		}
		fake.Advance(time.Minute)
	}
	for i := range 10 {
		if !fail(t, l, "alice@example.com", fmt.Sprintf("198.51.100.%d", i+1)).Allowed {
			t.Fatalf("failure %d rejected after successes; successes spent the failure budget", i+1)
		}
		fake.Advance(time.Second)
	}
}

// TestLoginFailCountsConcurrentExcess lets attempts pass the failure check
// together, as concurrent ones do: their failures are counted up to one
// window past the budget, so the excess lengthens the wait.
func TestLoginFailCountsConcurrentExcess(t *testing.T) {
	limits := testLoginLimits
	limits.UsernameFailures = ratelimit.PerHour(30, 2)
	l, _ := newLogin(t, limits, nil)
	for i := range 4 {
		if !attempt(t, l, "alice@example.com", fmt.Sprintf("203.0.113.%d", i+1)).Allowed {
			t.Fatalf("attempt %d rejected before any failure was counted", i+1)
		}
	}
	for i, wantCounted := range []bool{true, true, true, false} {
		res, err := l.Fail(context.Background(), "alice@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if res.Allowed != wantCounted {
			t.Fatalf("failure %d counted = %v, want %v", i+1, res.Allowed, wantCounted)
		}
	}
	res := attempt(t, l, "alice@example.com", "198.51.100.7")
	if res.Allowed {
		t.Fatal("attempt allowed after three failures against a burst of two")
	}
	// Three counted failures of 2 minutes each, against a burst of two:
	// the wait is two intervals (4 minutes) plus the probes' cost.
	if want := 4 * time.Minute; res.RetryAfter < want || res.RetryAfter > want+10*time.Millisecond {
		t.Fatalf("RetryAfter = %s, want %s plus at most 10ms", res.RetryAfter, want)
	}
}

// TestLoginLimitsAddressAcrossUsernames tries one password on many accounts
// from one address: the per-IP limit stops it, and the attempts it rejects
// spend nothing of the accounts' budgets.
func TestLoginLimitsAddressAcrossUsernames(t *testing.T) {
	limits := testLoginLimits
	limits.IP = ratelimit.PerMinute(2, 2)
	limits.UsernameIP = ratelimit.PerMinute(1, 1)
	l, _ := newLogin(t, limits, nil)
	if !attempt(t, l, "a@example.com", "203.0.113.1").Allowed || !attempt(t, l, "b@example.com", "203.0.113.1").Allowed {
		t.Fatal("attempts within the IP limit rejected")
	}
	if attempt(t, l, "c@example.com", "203.0.113.1").Allowed {
		t.Fatal("third account from one address allowed past the IP limit")
	}
	if !attempt(t, l, "c@example.com", "203.0.113.2").Allowed {
		t.Fatal("c's budget was spent by an attempt the IP limit rejected")
	}
}

func TestLoginAllowAdapter(t *testing.T) {
	limits := testLoginLimits
	limits.UsernameFailures = ratelimit.PerMinute(1, 1)
	l, _ := newLogin(t, limits, nil)
	if ok, _ := l.Allow("alice", "203.0.113.1"); !ok {
		t.Fatal("first attempt rejected")
	}
	l.Failed("alice", "203.0.113.1")
	ok, retry := l.Allow("alice", "not an address")
	if ok {
		t.Fatal("Allow after a counted failure with a burst of 1 = true, want false")
	}
	if retry < time.Minute || retry > time.Minute+time.Millisecond {
		t.Fatalf("Allow retry = %s, want about one minute", retry)
	}

	failing, _ := newLogin(t, testLoginLimits, failingStore{})
	if ok, retry := failing.Allow("alice", "203.0.113.1"); ok || retry != time.Second {
		t.Fatalf("Allow with a failing store = %v, %s; want a rejection with a 1s wait", ok, retry)
	}
}

func TestLoginLimitsValidate(t *testing.T) {
	if err := testLoginLimits.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		desc    string
		clear   func(*LoginLimits)
		wantErr string
	}{
		{"no pair limit", func(l *LoginLimits) { l.UsernameIP = ratelimit.Limit{} }, "username_ip limit"},
		{"no failure limit", func(l *LoginLimits) { l.UsernameFailures = ratelimit.Limit{} }, "username_failures limit"},
		{"no IP limit", func(l *LoginLimits) { l.IP = ratelimit.Limit{} }, "IP limit"},
	} {
		limits := testLoginLimits
		tt.clear(&limits)
		if err := limits.Validate(); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: Validate = %v, want an error containing %q", tt.desc, err, tt.wantErr)
		}
	}
}

func TestNewLoginErrors(t *testing.T) {
	store, err := ratelimit.NewMemory[ratelimit.Key](ratelimit.MemoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	limits := func() LoginLimits { return LoginLimits{} }
	ip := mustResolver(t, ClientIPOptions{})
	for _, tt := range []struct {
		opts    LoginOptions
		wantErr string
	}{
		{LoginOptions{Limits: limits, ClientIP: ip}, "Store is nil"},
		{LoginOptions{Store: store, ClientIP: ip}, "Limits is nil"},
		{LoginOptions{Store: store, Limits: limits}, "ClientIP is nil"},
	} {
		if _, err := NewLogin(tt.opts); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Fatalf("NewLogin = %v, want an error containing %q", err, tt.wantErr)
		}
	}
}
