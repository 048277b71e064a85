package registry

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// rotationHarness runs a rotator against a fake Vault and a fake clock.
type rotationHarness struct {
	clock   *fakeClock
	issuer  *fakeIssuer
	rotator *rotator
	logs    *bytes.Buffer

	mu       sync.Mutex
	applied  []Token
	applyErr error
}

func newRotationHarness(t *testing.T, ttl, maxTTL time.Duration) *rotationHarness {
	t.Helper()
	h := &rotationHarness{clock: newFakeClock(), logs: &bytes.Buffer{}}
	h.issuer = newFakeIssuer(h.clock, nil, "orders", ttl, maxTTL)
	initial, err := h.issuer.issue(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewJSONHandler(&lockedWriter{w: h.logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h.rotator = newRotator(h.issuer, initial, h.apply, h.clock, log, noJitter)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.rotator.run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return h
}

func (h *rotationHarness) apply(_ context.Context, t Token) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.applyErr != nil {
		return h.applyErr
	}
	h.applied = append(h.applied, t)
	return nil
}

func (h *rotationHarness) setApplyErr(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.applyErr = err
}

func (h *rotationHarness) appliedCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.applied)
}

// step moves the clock to the loop's next timer and waits until the loop
// waits again. It returns the time of the step.
func (h *rotationHarness) step(t *testing.T) time.Time {
	t.Helper()
	at := h.clock.waitIdle(t)
	h.clock.Advance(at.Sub(h.clock.Now()))
	h.clock.waitIdle(t)
	return at
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestRotatorRenewsBeforeRotating(t *testing.T) {
	const ttl = time.Minute
	h := newRotationHarness(t, ttl, 10*ttl)
	start := h.clock.Now()

	at := h.step(t)
	if got, want := at.Sub(start), 40*time.Second; got != want {
		t.Fatalf("first renewal after %v, want %v (two thirds of the lease)", got, want)
	}
	if issued, renewals := h.issuer.count(); issued != 1 || renewals != 1 {
		t.Fatalf("after the first step: issued %d tokens and renewed %d times, want 1 and 1", issued, renewals)
	}
	if h.appliedCount() != 0 {
		t.Fatalf("applied %d tokens after a renewal, want 0", h.appliedCount())
	}
}

func TestRotatorRotatesBeforeMaxTTL(t *testing.T) {
	const ttl, maxTTL = time.Minute, 3 * time.Minute
	h := newRotationHarness(t, ttl, maxTTL)
	first := h.rotator.token()
	firstExpiry := first.IssuedAt.Add(maxTTL)

	for h.appliedCount() == 0 {
		at := h.step(t)
		if err := h.rotator.err(); err != nil {
			t.Fatalf("at %v: err() = %v while the first token is valid", at.Sub(first.IssuedAt), err)
		}
		if at.After(firstExpiry) {
			t.Fatalf("no rotation before the first lease ended at %v", firstExpiry)
		}
	}
	rotatedAt := h.clock.Now()
	if lead := firstExpiry.Sub(rotatedAt); lead < ttl/rotateLeadDivisor {
		t.Errorf("rotated %v before the lease ended, want at least %v", lead, ttl/rotateLeadDivisor)
	}
	if got := h.rotator.token(); got.AccessorID == first.AccessorID {
		t.Errorf("token after rotation = %s, want a new one", got)
	}
}

func TestRotatorKeepsValidTokenAcrossLifetimes(t *testing.T) {
	const ttl = time.Minute
	h := newRotationHarness(t, ttl, ttl)
	end := h.clock.Now().Add(10 * ttl)
	for h.clock.Now().Before(end) {
		h.step(t)
		if err := h.rotator.err(); err != nil {
			t.Fatalf("at %v: %v", h.clock.Now(), err)
		}
	}
	if got := h.appliedCount(); got < 10 {
		t.Errorf("applied %d tokens in ten lease lifetimes, want at least 10", got)
	}
}

func TestRotatorRotatesWhenRenewalFails(t *testing.T) {
	h := newRotationHarness(t, time.Minute, time.Hour)
	h.issuer.mu.Lock()
	h.issuer.renewErr = errors.New("permission denied")
	h.issuer.mu.Unlock()

	at := h.step(t)
	if got, want := at.Sub(h.issuer.issued[0].IssuedAt), 40*time.Second; got != want {
		t.Fatalf("renewal attempt after %v, want %v", got, want)
	}
	if got := h.appliedCount(); got != 1 {
		t.Fatalf("applied %d tokens after a failed renewal, want 1", got)
	}
}

func TestRotatorRetriesWithBackoff(t *testing.T) {
	const ttl = time.Minute
	h := newRotationHarness(t, ttl, ttl)
	first := h.rotator.token()
	h.issuer.mu.Lock()
	h.issuer.issueErr = errors.New("Vault is sealed")
	h.issuer.mu.Unlock()

	// The renewal at 40s grants the 20s left, so the rotation starts at 45s.
	h.step(t)
	var gaps []time.Duration
	prev := h.step(t)
	for range 4 {
		at := h.step(t)
		gaps = append(gaps, at.Sub(prev))
		prev = at
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}
	for i := range want {
		if gaps[i] != want[i] {
			t.Fatalf("retry gaps = %v, want %v", gaps, want)
		}
	}

	for h.clock.Now().Before(first.IssuedAt.Add(ttl)) {
		h.step(t)
	}
	err := h.rotator.err()
	if err == nil {
		t.Fatal("err() = nil after the lease ended without a replacement")
	}
	if !strings.Contains(err.Error(), first.AccessorID) || !strings.Contains(err.Error(), "Vault is sealed") {
		t.Errorf("err() = %q, want the accessor ID and the cause", err)
	}
	if strings.Contains(err.Error(), first.SecretID()) {
		t.Errorf("err() contains the secret ID: %q", err)
	}

	h.issuer.mu.Lock()
	h.issuer.issueErr = nil
	h.issuer.mu.Unlock()
	for h.appliedCount() == 0 {
		h.step(t)
	}
	if err := h.rotator.err(); err != nil {
		t.Errorf("err() = %v after a successful rotation", err)
	}
}

func TestRotatorReusesPendingToken(t *testing.T) {
	h := newRotationHarness(t, time.Minute, time.Hour)
	h.issuer.mu.Lock()
	h.issuer.renewErr = errors.New("lease not found")
	h.issuer.mu.Unlock()
	h.setApplyErr(errors.New("Consul is restarting"))

	h.step(t) // renewal fails, rotation issues token 2, apply fails
	h.step(t) // retry applies the same pending token, fails again
	if issued, _ := h.issuer.count(); issued != 2 {
		t.Fatalf("issued %d tokens after two failed applies, want 2 (the pending one is reused)", issued)
	}

	h.setApplyErr(nil)
	h.step(t)
	if issued, _ := h.issuer.count(); issued != 2 {
		t.Fatalf("issued %d tokens, want 2", issued)
	}
	if got := h.rotator.token().AccessorID; got != "accessor-2" {
		t.Errorf("current token = %s, want accessor-2", got)
	}
}

func TestRotatorForcedRotation(t *testing.T) {
	h := newRotationHarness(t, time.Hour, 10*time.Hour)
	h.clock.waitIdle(t)

	h.rotator.invalidate()
	h.clock.waitIdle(t)
	if got := h.appliedCount(); got != 0 {
		t.Fatalf("applied %d tokens on a forced rotation right after start, want 0", got)
	}

	h.clock.Advance(minForcedRotationGap)
	h.rotator.invalidate()
	deadline := time.Now().Add(5 * time.Second)
	for h.appliedCount() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := h.appliedCount(); got != 1 {
		t.Fatalf("applied %d tokens after a forced rotation, want 1", got)
	}
}

func TestRotatorLogsNoSecret(t *testing.T) {
	h := newRotationHarness(t, time.Minute, time.Minute)
	h.issuer.mu.Lock()
	h.issuer.echo = true
	h.issuer.mu.Unlock()
	for h.appliedCount() < 3 {
		h.step(t)
	}

	h.issuer.mu.Lock()
	tokens := append([]Token(nil), h.issuer.issued...)
	h.issuer.mu.Unlock()
	logs := h.logs.String()
	for _, tok := range tokens {
		if strings.Contains(logs, tok.SecretID()) {
			t.Errorf("log output contains the secret ID of %s", tok)
		}
		if !strings.Contains(logs, tok.AccessorID) {
			t.Errorf("log output lacks accessor ID %s", tok.AccessorID)
		}
	}
}
