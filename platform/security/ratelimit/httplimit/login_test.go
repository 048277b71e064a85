package httplimit

import (
	"context"
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

// TestLoginLimitsUsernameAcrossAddresses guesses one user's password from
// many addresses: the per-username limit stops it.
func TestLoginLimitsUsernameAcrossAddresses(t *testing.T) {
	l, fake := newLogin(t, LoginLimits{Username: ratelimit.PerMinute(3, 3), IP: ratelimit.PerMinute(100, 100)}, nil)
	for i := range 3 {
		ip := "203.0.113." + string(rune('1'+i))
		if !attempt(t, l, "alice@example.com", ip).Allowed {
			t.Fatalf("attempt %d rejected within the username limit", i+1)
		}
	}
	res := attempt(t, l, " Alice@Example.com ", "203.0.113.9")
	if res.Allowed {
		t.Fatal("fourth attempt on alice, with other case and spaces, was allowed")
	}
	if res.RetryAfter != 20*time.Second {
		t.Fatalf("RetryAfter = %s, want 20s", res.RetryAfter)
	}
	if !attempt(t, l, "bob@example.com", "203.0.113.9").Allowed {
		t.Fatal("another user was rejected")
	}
	fake.Advance(res.RetryAfter)
	if !attempt(t, l, "alice@example.com", "203.0.113.9").Allowed {
		t.Fatal("attempt after RetryAfter rejected")
	}
}

// TestLoginLimitsAddressAcrossUsernames tries one password on many accounts
// from one address: the per-IP limit stops it, and the attempts it rejects
// spend nothing of the accounts' budgets.
func TestLoginLimitsAddressAcrossUsernames(t *testing.T) {
	l, _ := newLogin(t, LoginLimits{Username: ratelimit.PerMinute(1, 1), IP: ratelimit.PerMinute(2, 2)}, nil)
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
	l, _ := newLogin(t, LoginLimits{Username: ratelimit.PerMinute(1, 1), IP: ratelimit.PerMinute(10, 10)}, nil)
	if ok, _ := l.Allow("alice", "203.0.113.1"); !ok {
		t.Fatal("first attempt rejected")
	}
	ok, retry := l.Allow("alice", "not an address")
	if ok || retry != time.Minute {
		t.Fatalf("Allow = %v, %s; want a rejection with a one-minute wait", ok, retry)
	}

	failing, _ := newLogin(t, LoginLimits{Username: ratelimit.PerMinute(1, 1), IP: ratelimit.PerMinute(10, 10)}, failingStore{})
	if ok, retry := failing.Allow("alice", "203.0.113.1"); ok || retry != time.Second {
		t.Fatalf("Allow with a failing store = %v, %s; want a rejection with a 1s wait", ok, retry)
	}
}

func TestLoginLimitsValidate(t *testing.T) {
	valid := LoginLimits{Username: ratelimit.PerMinute(5, 5), IP: ratelimit.PerMinute(20, 20)}
	if err := valid.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := (LoginLimits{IP: valid.IP}).Validate(); err == nil || !strings.Contains(err.Error(), "username limit") {
		t.Fatalf("Validate without a username limit = %v", err)
	}
	if err := (LoginLimits{Username: valid.Username}).Validate(); err == nil || !strings.Contains(err.Error(), "IP limit") {
		t.Fatalf("Validate without an IP limit = %v", err)
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
