package vaultclient

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"

	"github.com/bulwark-go/bulwark/platform/security/internal/clock"
)

// fakeAuth is an in-memory Vault token endpoint with scripted failures.
type fakeAuth struct {
	mu        sync.Mutex
	clock     *clock.Fake
	ttl       time.Duration
	maxTTL    time.Duration
	issued    map[string]time.Time // token -> login time
	logins    int
	renewals  int
	renewErr  error // returned by renewSelf while set
	loginErr  error // returned by login while set
	lastToken string
}

func newFakeAuth(c *clock.Fake, ttl, maxTTL time.Duration) *fakeAuth {
	return &fakeAuth{clock: c, ttl: ttl, maxTTL: maxTTL, issued: map[string]time.Time{}}
}

func (f *fakeAuth) login(context.Context) (*vault.SecretAuth, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.loginErr != nil {
		return nil, f.loginErr
	}
	f.logins++
	token := "hvs.token-" + string(rune('a'+f.logins))
	f.issued[token] = f.clock.Now()
	f.lastToken = token
	return &vault.SecretAuth{ClientToken: token, Accessor: "acc-" + token[len(token)-1:],
		LeaseDuration: int(f.ttl.Seconds()), Renewable: true}, nil
}

func (f *fakeAuth) renewSelf(_ context.Context, token string, increment time.Duration) (*vault.SecretAuth, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.renewErr != nil {
		return nil, f.renewErr
	}
	f.renewals++
	left := f.issued[token].Add(f.maxTTL).Sub(f.clock.Now())
	granted := min(increment, left)
	return &vault.SecretAuth{ClientToken: token, LeaseDuration: int(granted.Seconds()), Renewable: true}, nil
}

func (f *fakeAuth) counts() (logins, renewals int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.logins, f.renewals
}

func (f *fakeAuth) set(fn func(*fakeAuth)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

// startFake returns a logged-in client on a fake clock and its log output.
func startFake(t *testing.T, ttl, maxTTL time.Duration) (*Client, *fakeAuth, *clock.Fake, *bytes.Buffer) {
	t.Helper()
	fc := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	auth := newFakeAuth(fc, ttl, maxTTL)
	var logs bytes.Buffer
	cfg := Config{Address: "https://127.0.0.1:1", Logger: slog.New(slog.NewJSONHandler(&logs, nil)), clock: fc}
	cfg.setDefaults()
	api, err := vault.NewClient(&vault.Config{Address: cfg.Address})
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(cfg, api, auth)
	if err := c.login(context.Background()); err != nil {
		t.Fatal(err)
	}
	c.start(context.Background())
	t.Cleanup(c.Close)
	return c, auth, fc, &logs
}

// step waits for the loop to arm its timer, then moves the fake clock to
// that timer's deadline and waits for the loop to arm the next one.
func step(t *testing.T, fc *clock.Fake) time.Time {
	t.Helper()
	if !fc.WaitForTimers(1, 5*time.Second) {
		t.Fatal("renewal loop armed no timer")
	}
	deadline, _ := fc.NextDeadline()
	fc.Advance(deadline.Sub(fc.Now()))
	if !fc.WaitForTimers(1, 5*time.Second) {
		t.Fatal("renewal loop armed no timer after firing")
	}
	return deadline
}

func TestRenewAtTwoThirds(t *testing.T) {
	c, auth, fc, _ := startFake(t, time.Hour, 24*time.Hour)
	start := fc.Now()
	at := step(t, fc)
	if d := at.Sub(start); d > 40*time.Minute || d < 34*time.Minute {
		t.Fatalf("renewed %v after login, want between 34m and 40m", d)
	}
	logins, renewals := auth.counts()
	if logins != 1 || renewals != 1 {
		t.Fatalf("logins, renewals = %d, %d; want 1, 1", logins, renewals)
	}
	if got := c.TokenExpiry(); !got.Equal(at.Add(time.Hour)) {
		t.Fatalf("TokenExpiry = %v, want %v", got, at.Add(time.Hour))
	}
}

func TestLoginAgainAtMaxTTL(t *testing.T) {
	c, auth, fc, _ := startFake(t, time.Hour, 90*time.Minute)
	start := fc.Now()
	// Renewals grant less and less as the max TTL nears; the jitter
	// decides how many fit before the loop logs in again.
	for range 6 {
		step(t, fc)
		if logins, _ := auth.counts(); logins == 2 {
			break
		}
	}
	logins, renewals := auth.counts()
	if logins != 2 {
		t.Fatalf("logins = %d, want 2 once the token neared its max TTL", logins)
	}
	if renewals < 1 {
		t.Fatalf("renewals = %d, want at least 1 before the new login", renewals)
	}
	if d := fc.Now().Sub(start); d >= 90*time.Minute {
		t.Fatalf("new login %v after the first, at or past the max TTL of 90m", d)
	}
	if got := c.API().Token(); got != auth.lastToken {
		t.Fatalf("API token is not the token of the last login")
	}
}

func TestLoginAgainWhenRenewalRejected(t *testing.T) {
	c, auth, fc, logs := startFake(t, time.Hour, 24*time.Hour)
	first := c.API().Token()
	auth.set(func(f *fakeAuth) {
		f.renewErr = &vault.ResponseError{StatusCode: 403, Errors: []string{"permission denied"}}
	})
	step(t, fc)
	logins, _ := auth.counts()
	if logins != 2 {
		t.Fatalf("logins = %d, want 2 after Vault rejected the renewal", logins)
	}
	if c.API().Token() == first {
		t.Fatal("API still holds the rejected token")
	}
	if strings.Contains(logs.String(), first) || strings.Contains(logs.String(), auth.lastToken) {
		t.Fatal("logs contain a Vault token")
	}
}

func TestRetryWhileVaultDown(t *testing.T) {
	c, auth, fc, logs := startFake(t, time.Minute, time.Hour)
	down := errors.New("dial tcp 127.0.0.1:1: connect: connection refused")
	auth.set(func(f *fakeAuth) { f.renewErr = down; f.loginErr = down })

	// Fail past the token's expiry: the loop keeps retrying with backoff.
	var last time.Time
	for fc.Now().Before(c.TokenExpiry().Add(2 * time.Minute)) {
		at := step(t, fc)
		if !last.IsZero() && at.Sub(last) > DefaultMaxRetryDelay {
			t.Fatalf("retry delay %v exceeds the maximum %v", at.Sub(last), DefaultMaxRetryDelay)
		}
		last = at
	}
	if !strings.Contains(logs.String(), "retrying") {
		t.Fatalf("no retry logged: %s", logs.String())
	}

	auth.set(func(f *fakeAuth) { f.renewErr = nil; f.loginErr = nil })
	step(t, fc)
	logins, _ := auth.counts()
	if logins != 2 {
		t.Fatalf("logins = %d, want 2 once Vault is back and the token expired", logins)
	}
	if !c.TokenExpiry().After(fc.Now()) {
		t.Fatal("token still expired after Vault came back")
	}
}

func TestCloseStopsLoop(t *testing.T) {
	c, _, fc, _ := startFake(t, time.Hour, 24*time.Hour)
	if !fc.WaitForTimers(1, 5*time.Second) {
		t.Fatal("renewal loop armed no timer")
	}
	c.Close()
	if fc.Pending() != 0 {
		t.Fatalf("Pending timers after Close = %d, want 0", fc.Pending())
	}
	c.Close() // a second Close is a no-op
}

func TestLoginRejectsTokenWithoutTTL(t *testing.T) {
	fc := clock.NewFake(time.Unix(0, 0))
	auth := newFakeAuth(fc, 0, 0)
	cfg := Config{Address: "https://127.0.0.1:1", clock: fc}
	cfg.setDefaults()
	api, err := vault.NewClient(&vault.Config{Address: cfg.Address})
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(cfg, api, auth)
	if err := c.login(context.Background()); err == nil || !strings.Contains(err.Error(), "without a TTL") {
		t.Fatalf("login = %v, want a no-TTL error", err)
	}
}
