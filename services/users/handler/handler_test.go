package handler

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/services/internal/rpc"
	"github.com/bulwark-go/bulwark/services/users/api"
	"github.com/bulwark-go/bulwark/services/users/internal/password"
	"github.com/bulwark-go/bulwark/services/users/internal/store"
)

// fakeClock is a clock that moves only when a test advances it.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type fixture struct {
	h     *Users
	store *store.Store
	clock *fakeClock
	logs  *bytes.Buffer
}

// cheapParams keep tests fast; the password package tests the defaults.
var cheapParams = password.Params{Memory: 64, Time: 1, Threads: 1}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	s, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "users.db"))
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	clock := &fakeClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	logs := &bytes.Buffer{}
	h, err := New(Options{
		Store:      s,
		Log:        slog.New(slog.NewJSONHandler(logs, nil)),
		SessionTTL: time.Hour,
		Params:     cheapParams,
		Now:        clock.Now,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &fixture{h: h, store: s, clock: clock, logs: logs}
}

const goodPassword = "violet-harbor-31"

func (f *fixture) register(t *testing.T, email string) string {
	t.Helper()
	var rsp api.RegisterResponse
	if err := f.h.Register(context.Background(), &api.RegisterRequest{Email: email, Password: goodPassword}, &rsp); err != nil {
		t.Fatalf("Register(%q): %v", email, err)
	}
	return rsp.UserID
}

func (f *fixture) login(t *testing.T, email string) api.LoginResponse {
	t.Helper()
	var rsp api.LoginResponse
	if err := f.h.Login(context.Background(), &api.LoginRequest{Email: email, Password: goodPassword}, &rsp); err != nil {
		t.Fatalf("Login(%q): %v", email, err)
	}
	return rsp
}

// wantError checks that err is a go-micro error with code and, when field is
// not empty, that its detail names field.
func wantError(t *testing.T, err error, code int32, field string) {
	t.Helper()
	merr := rpc.AsError(err)
	if merr == nil {
		t.Fatalf("error = %v, want a go-micro error with code %d", err, code)
	}
	if merr.Code != code {
		t.Fatalf("error code = %d (%s), want %d", merr.Code, merr.Detail, code)
	}
	if field != "" {
		if got, _ := rpc.FieldReason(merr.Detail); got != field {
			t.Fatalf("error field = %q (detail %q), want %q", got, merr.Detail, field)
		}
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	s, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "users.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	tests := []struct {
		desc    string
		opts    Options
		wantErr string
	}{
		{desc: "no store", opts: Options{Log: log}, wantErr: "Store is nil"},
		{desc: "no log", opts: Options{Store: s}, wantErr: "Log is nil"},
		{desc: "short TTL", opts: Options{Store: s, Log: log, SessionTTL: time.Second}, wantErr: "out of range"},
		{desc: "long TTL", opts: Options{Store: s, Log: log, SessionTTL: 365 * 24 * time.Hour}, wantErr: "out of range"},
		{desc: "negative hashes", opts: Options{Store: s, Log: log, MaxConcurrentHashes: -1}, wantErr: "negative"},
		{desc: "bad params", opts: Options{Store: s, Log: log, Params: password.Params{Memory: 1}}, wantErr: "argon2id"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			_, err := New(tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestRegister(t *testing.T) {
	f := newFixture(t)
	var rsp api.RegisterResponse
	err := f.h.Register(context.Background(), &api.RegisterRequest{Email: "  Ann@Example.COM ", Password: goodPassword}, &rsp)
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	if rsp.Email != "ann@example.com" {
		t.Errorf("email = %q, want the normalized ann@example.com", rsp.Email)
	}
	if !strings.HasPrefix(rsp.UserID, "u_") {
		t.Errorf("user id = %q, want prefix u_", rsp.UserID)
	}
	user, err := f.store.UserByEmail(context.Background(), "ann@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(user.PasswordHash, goodPassword) || !strings.HasPrefix(user.PasswordHash, "$argon2id$") {
		t.Errorf("stored hash = %q, want an argon2id hash", user.PasswordHash)
	}

	// The same address in other case is the same account.
	err = f.h.Register(context.Background(), &api.RegisterRequest{Email: "ANN@example.com", Password: goodPassword}, &rsp)
	wantError(t, err, 409, "email")
}

func TestRegisterBadInput(t *testing.T) {
	f := newFixture(t)
	long := strings.Repeat("a", 250) + "@example.com"
	tests := []struct {
		desc  string
		req   api.RegisterRequest
		field string
	}{
		{desc: "empty email", req: api.RegisterRequest{Password: goodPassword}, field: "email"},
		{desc: "blank email", req: api.RegisterRequest{Email: "   ", Password: goodPassword}, field: "email"},
		{desc: "no at", req: api.RegisterRequest{Email: "ann.example.com", Password: goodPassword}, field: "email"},
		{desc: "display name", req: api.RegisterRequest{Email: "Ann <ann@example.com>", Password: goodPassword}, field: "email"},
		{desc: "no dot in domain", req: api.RegisterRequest{Email: "ann@localhost", Password: goodPassword}, field: "email"},
		{desc: "IP literal", req: api.RegisterRequest{Email: "ann@[127.0.0.1]", Password: goodPassword}, field: "email"},
		{desc: "oversized email", req: api.RegisterRequest{Email: long, Password: goodPassword}, field: "email"},
		{desc: "long local part", req: api.RegisterRequest{Email: strings.Repeat("a", 65) + "@example.com", Password: goodPassword}, field: "email"},
		{desc: "invalid UTF-8", req: api.RegisterRequest{Email: "a\xff@example.com", Password: goodPassword}, field: "email"},
		{desc: "missing password", req: api.RegisterRequest{Email: "ann@example.com"}, field: "password"},
		{desc: "short password", req: api.RegisterRequest{Email: "ann@example.com", Password: "short"}, field: "password"},
		{desc: "oversized password", req: api.RegisterRequest{Email: "ann@example.com", Password: strings.Repeat("x1", 5000)}, field: "password"},
		{desc: "common password", req: api.RegisterRequest{Email: "ann@example.com", Password: "password1234"}, field: "password"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			var rsp api.RegisterResponse
			err := f.h.Register(context.Background(), &tt.req, &rsp)
			wantError(t, err, 400, tt.field)
		})
	}
}

func TestLogin(t *testing.T) {
	f := newFixture(t)
	userID := f.register(t, "ann@example.com")
	rsp := f.login(t, "ANN@example.com")
	if rsp.UserID != userID {
		t.Errorf("user id = %q, want %q", rsp.UserID, userID)
	}
	if len(rsp.Token) != TokenLength {
		t.Errorf("token length = %d, want %d", len(rsp.Token), TokenLength)
	}
	if want := f.clock.Now().Add(time.Hour); !rsp.ExpiresAt.Equal(want) {
		t.Errorf("expires at = %v, want %v", rsp.ExpiresAt, want)
	}
	if other := f.login(t, "ann@example.com"); other.Token == rsp.Token {
		t.Error("two logins returned the same token")
	}
}

func TestLoginUniformFailure(t *testing.T) {
	f := newFixture(t)
	f.register(t, "ann@example.com")
	ctx := context.Background()

	var rsp api.LoginResponse
	wrong := f.h.Login(ctx, &api.LoginRequest{Email: "ann@example.com", Password: "not-the-password"}, &rsp)
	unknown := f.h.Login(ctx, &api.LoginRequest{Email: "bob@example.com", Password: "not-the-password"}, &rsp)
	wantError(t, wrong, 401, "")
	wantError(t, unknown, 401, "")
	if wrong.Error() != unknown.Error() {
		t.Errorf("wrong password error %q differs from unknown user error %q", wrong, unknown)
	}
	if rsp.Token != "" {
		t.Errorf("failed login returned token %q", rsp.Token)
	}
	if strings.Contains(f.logs.String(), "bob@example.com") {
		t.Error("logs contain the unknown email address")
	}
}

// TestLoginUnknownUserHashes shows that an unknown email still computes an
// argon2id hash: with every hash slot taken, the login waits for a slot and
// times out instead of answering 401 at once, as it would without the dummy
// hash.
func TestLoginUnknownUserHashes(t *testing.T) {
	f := newFixture(t)
	for range cap(f.h.hashSlots) {
		f.h.hashSlots <- struct{}{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	var rsp api.LoginResponse
	err := f.h.Login(ctx, &api.LoginRequest{Email: "nobody@example.com", Password: "whatever-password"}, &rsp)
	wantError(t, err, 503, "")
}

func TestLoginBadInput(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		desc  string
		req   api.LoginRequest
		field string
	}{
		{desc: "missing email", req: api.LoginRequest{Password: goodPassword}, field: "email"},
		{desc: "malformed email", req: api.LoginRequest{Email: "ann", Password: goodPassword}, field: "email"},
		{desc: "missing password", req: api.LoginRequest{Email: "ann@example.com"}, field: "password"},
		{desc: "oversized password", req: api.LoginRequest{Email: "ann@example.com", Password: strings.Repeat("x", password.MaxBytes+1)}, field: "password"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			var rsp api.LoginResponse
			wantError(t, f.h.Login(context.Background(), &tt.req, &rsp), 400, tt.field)
		})
	}
}

func TestSessionStoredHashed(t *testing.T) {
	f := newFixture(t)
	f.register(t, "ann@example.com")
	token := f.login(t, "ann@example.com").Token

	rows, err := f.store.DB().Query(`SELECT token_hash, user_id FROM sessions`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	want := sha256.Sum256([]byte(token))
	n := 0
	for rows.Next() {
		n++
		var hash []byte
		var userID string
		if err := rows.Scan(&hash, &userID); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(hash, want[:]) {
			t.Errorf("stored token_hash = %x, want SHA-256 of the token %x", hash, want)
		}
		if bytes.Contains(hash, []byte(token)) {
			t.Error("stored session row contains the token itself")
		}
	}
	if n != 1 {
		t.Fatalf("sessions rows = %d, want 1", n)
	}
	if strings.Contains(f.logs.String(), token) {
		t.Error("logs contain the session token")
	}
}

func TestAuthenticateAndExpiry(t *testing.T) {
	f := newFixture(t)
	userID := f.register(t, "ann@example.com")
	token := f.login(t, "ann@example.com").Token
	ctx := context.Background()

	var rsp api.AuthenticateResponse
	if err := f.h.Authenticate(ctx, &api.AuthenticateRequest{Token: token}, &rsp); err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	if rsp.UserID != userID {
		t.Errorf("user id = %q, want %q", rsp.UserID, userID)
	}

	f.clock.Advance(time.Hour - time.Millisecond)
	if err := f.h.Authenticate(ctx, &api.AuthenticateRequest{Token: token}, &rsp); err != nil {
		t.Fatalf("Authenticate just before expiry: %v", err)
	}
	f.clock.Advance(time.Millisecond)
	wantError(t, f.h.Authenticate(ctx, &api.AuthenticateRequest{Token: token}, &rsp), 401, "")
}

func TestAuthenticateBadToken(t *testing.T) {
	f := newFixture(t)
	f.register(t, "ann@example.com")
	token := f.login(t, "ann@example.com").Token
	tests := []struct {
		desc  string
		token string
		code  int32
	}{
		{desc: "empty", token: "", code: 400},
		{desc: "short", token: token[:20], code: 401},
		{desc: "long", token: token + "A", code: 401},
		{desc: "not base64url", token: strings.Repeat("*", TokenLength), code: 401},
		{desc: "unknown", token: strings.Repeat("A", TokenLength-1) + "E", code: 401},
		{desc: "huge", token: strings.Repeat("A", 1<<16), code: 401},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			var rsp api.AuthenticateResponse
			wantError(t, f.h.Authenticate(context.Background(), &api.AuthenticateRequest{Token: tt.token}, &rsp), tt.code, "")
		})
	}
}

func TestLogoutRevokes(t *testing.T) {
	f := newFixture(t)
	f.register(t, "ann@example.com")
	token := f.login(t, "ann@example.com").Token
	other := f.login(t, "ann@example.com").Token
	ctx := context.Background()

	if err := f.h.Logout(ctx, &api.LogoutRequest{Token: token}, &api.LogoutResponse{}); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	var rsp api.AuthenticateResponse
	wantError(t, f.h.Authenticate(ctx, &api.AuthenticateRequest{Token: token}, &rsp), 401, "")
	wantError(t, f.h.Logout(ctx, &api.LogoutRequest{Token: token}, &api.LogoutResponse{}), 401, "")

	// Other sessions of the same user stay valid.
	if err := f.h.Authenticate(ctx, &api.AuthenticateRequest{Token: other}, &rsp); err != nil {
		t.Errorf("Authenticate(other session) after logout: %v", err)
	}
}

func TestRegisterBusy(t *testing.T) {
	f := newFixture(t)
	for range cap(f.h.hashSlots) {
		f.h.hashSlots <- struct{}{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	var rsp api.RegisterResponse
	err := f.h.Register(ctx, &api.RegisterRequest{Email: "ann@example.com", Password: goodPassword}, &rsp)
	wantError(t, err, 503, "")
}
