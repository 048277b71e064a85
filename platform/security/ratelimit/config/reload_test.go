package config

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/platform/security/internal/clock"
	"github.com/bulwark-go/bulwark/platform/security/ratelimit"
)

type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newReloader(t *testing.T, content string, fake *clock.Fake) (*Reloader, string, *logBuffer) {
	t.Helper()
	path := writeFile(t, content)
	logs := &logBuffer{}
	opts := ReloaderOptions{Logger: slog.New(slog.NewTextHandler(logs, nil))}
	if fake != nil {
		opts.Clock = fake
	}
	r, err := NewReloader(path, loadOpts(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return r, path, logs
}

func rewrite(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestReloadAppliesNewLimits(t *testing.T) {
	r, path, logs := newReloader(t, "handler:\n  default: 10/s\n", nil)
	rules := r.HandlerRules // the method value a wrapper holds
	if got := rules().Default; got != ratelimit.PerSecond(10, 10) {
		t.Fatalf("initial default = %v", got)
	}
	rewrite(t, path, "handler:\n  default: 20/s burst 5\n  endpoints:\n    Orders.Create: 1/s\n")
	if err := r.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := rules().Default; got != ratelimit.PerSecond(20, 5) {
		t.Fatalf("default after reload = %v, want 20/s burst 5", got)
	}
	if got := rules().Endpoints["Orders.Create"]; got != ratelimit.PerSecond(1, 1) {
		t.Fatalf("endpoint after reload = %v", got)
	}
	if !strings.Contains(logs.String(), "rate limits reloaded") {
		t.Fatalf("log %q does not report the reload", logs)
	}
}

func TestReloadKeepsLimitsOnBadFile(t *testing.T) {
	r, path, logs := newReloader(t, "handler:\n  default: 10/s\n", nil)
	rewrite(t, path, "handler:\n  default: 10/s burst 0\n")
	err := r.Reload()
	if err == nil || !strings.Contains(err.Error(), "burst 0") {
		t.Fatalf("Reload of a bad file = %v, want the validation error", err)
	}
	if got := r.HandlerRules().Default; got != ratelimit.PerSecond(10, 10) {
		t.Fatalf("default after a bad reload = %v, want the old 10/s", got)
	}
	if !strings.Contains(logs.String(), "keeping the current limits") || !strings.Contains(logs.String(), "burst 0") {
		t.Fatalf("log %q does not say why the reload failed", logs)
	}
}

func TestReloadRejectsFixedSettingChange(t *testing.T) {
	r, path, _ := newReloader(t, "store:\n  backend: memory\n", nil)
	rewrite(t, path, "store:\n  backend: redis\n  redis:\n    addr: 127.0.0.1:1\n    password_file: /x\n")
	if err := r.Reload(); err == nil || !strings.Contains(err.Error(), "restart") {
		t.Fatalf("Reload changing the store = %v, want a restart error", err)
	}
	if r.Settings().Store.Backend != BackendMemory {
		t.Fatal("store setting changed by a rejected reload")
	}
}

func TestWatchFileReloadsOnChange(t *testing.T) {
	fake := clock.NewFake(time.Unix(1_900_000_000, 0))
	r, path, logs := newReloader(t, "handler:\n  default: 10/s\n", fake)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.WatchFile(ctx, time.Second) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("WatchFile: %v", err)
		}
	}()

	tick := func() {
		t.Helper()
		if !fake.WaitForTimers(1, 5*time.Second) {
			t.Fatal("WatchFile armed no timer")
		}
		fake.Advance(time.Second)
		// The check runs after the timer fires; the next armed timer
		// shows it finished.
		if !fake.WaitForTimers(1, 5*time.Second) {
			t.Fatal("WatchFile did not come back after a check")
		}
	}

	tick()
	if strings.Contains(logs.String(), "reload") {
		t.Fatalf("unchanged file reloaded: %q", logs)
	}
	rewrite(t, path, "handler:\n  default: 30/s\n")
	tick()
	if got := r.HandlerRules().Default; got != ratelimit.PerSecond(30, 30) {
		t.Fatalf("default after the file changed = %v, want 30/s", got)
	}
	rewrite(t, path, "handler:\n  default: nonsense\n")
	tick()
	tick()
	if got := strings.Count(logs.String(), "rate limit reload failed"); got != 1 {
		t.Fatalf("bad file reported %d times over two checks, want once:\n%s", got, logs)
	}
	if got := r.HandlerRules().Default; got != ratelimit.PerSecond(30, 30) {
		t.Fatalf("default after a bad file = %v, want 30/s kept", got)
	}
}

func TestWatchFileErrors(t *testing.T) {
	r, err := NewReloader("", loadOpts(), ReloaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.WatchFile(context.Background(), time.Second); err == nil {
		t.Fatal("WatchFile without a file returned nil")
	}
	withFile, _, _ := newReloader(t, "", nil)
	if err := withFile.WatchFile(context.Background(), 0); err == nil {
		t.Fatal("WatchFile with a zero interval returned nil")
	}
}

func TestWatchSignalsReloadsOnSignal(t *testing.T) {
	r, path, _ := newReloader(t, "handler:\n  default: 10/s\n", nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The test uses SIGUSR2 in place of SIGHUP, so it cannot disturb
	// other handlers of SIGHUP in the test binary.
	r.WatchSignals(ctx, syscall.SIGUSR2)
	rewrite(t, path, "handler:\n  default: 40/s\n")
	if err := syscall.Kill(os.Getpid(), syscall.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for r.HandlerRules().Default != ratelimit.PerSecond(40, 40) {
		if time.Now().After(deadline) {
			t.Fatalf("default = %v five seconds after the signal, want 40/s", r.HandlerRules().Default)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestNewReloaderRejectsBadFile(t *testing.T) {
	path := writeFile(t, "handler:\n  default: 0/s\n")
	if _, err := NewReloader(path, loadOpts(), ReloaderOptions{}); err == nil {
		t.Fatal("NewReloader accepted an invalid file")
	}
}
