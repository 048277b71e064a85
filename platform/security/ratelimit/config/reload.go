package config

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"reflect"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/bulwark-go/bulwark/platform/security/internal/clock"
	"github.com/bulwark-go/bulwark/platform/security/ratelimit"
	"github.com/bulwark-go/bulwark/platform/security/ratelimit/httplimit"
)

// Reloader holds the current settings of a service and replaces them when
// the file changes or the process receives SIGHUP. Components read limits
// through its methods on every request (HandlerRules, GatewayRules, ...),
// so new limits apply without a restart. A reload that fails validation,
// or that changes a setting fixed at start (store, wait bounds, client
// address options), keeps the old settings, logs why and returns the
// error.
type Reloader struct {
	path    string
	opts    LoadOptions
	log     *slog.Logger
	clock   clock.Clock
	mu      sync.Mutex // serializes reloads
	current atomic.Pointer[Settings]
	data    []byte // file contents of the current settings; guarded by mu
}

// ReloaderOptions configures NewReloader.
type ReloaderOptions struct {
	// Logger receives each reload's outcome; nil means slog.Default().
	Logger *slog.Logger
	// Clock times WatchFile's polls; nil means the machine's clock.
	Clock ratelimit.Clock
}

// NewReloader loads the settings once and returns a Reloader holding them.
// It returns Load's error when the settings are invalid.
func NewReloader(path string, loadOpts LoadOptions, opts ReloaderOptions) (*Reloader, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	r := &Reloader{path: path, opts: loadOpts, log: opts.Logger, clock: opts.Clock}
	settings, data, err := load(path, loadOpts)
	if err != nil {
		return nil, err
	}
	r.current.Store(settings)
	r.data = data
	return r, nil
}

// Settings returns the current settings. Callers must not modify them.
func (r *Reloader) Settings() *Settings { return r.current.Load() }

// HandlerRules returns the current handler rules; pass the method value as
// microwrap.HandlerOptions.Rules.
func (r *Reloader) HandlerRules() *ratelimit.Rules { return &r.current.Load().Handler.Rules }

// SubscriberRules returns the current subscriber rules.
func (r *Reloader) SubscriberRules() *ratelimit.Rules { return &r.current.Load().Subscriber.Rules }

// ClientRules returns the current client rules. Without a client section
// it returns empty rules, under which every call fails with an invalid
// limit: install the call wrapper only when Settings().Client is not nil.
func (r *Reloader) ClientRules() *ratelimit.Rules {
	if c := r.current.Load().Client; c != nil {
		return &c.Rules
	}
	return &ratelimit.Rules{}
}

// GatewayRules returns the current gateway rules.
func (r *Reloader) GatewayRules() *ratelimit.Rules { return &r.current.Load().Gateway.Rules }

// LoginLimits returns the current login limits.
func (r *Reloader) LoginLimits() httplimit.LoginLimits { return r.current.Load().Gateway.Login }

// Reload loads the settings again and, if they are valid and change no
// fixed setting, makes them current.
func (r *Reloader) Reload() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reloadLocked()
}

func (r *Reloader) reloadLocked() error {
	next, data, err := load(r.path, r.opts)
	if err == nil && !reflect.DeepEqual(next.fixed(), r.current.Load().fixed()) {
		err = fmt.Errorf("ratelimit/config: %s changes settings that apply only at start "+
			"(store, subscriber.max_wait, client section and max_wait, gateway client address and header options); restart the service to apply them", r.describe())
	}
	if err != nil {
		r.log.Error("rate limit reload failed; keeping the current limits", "file", r.path, "err", err)
		return err
	}
	r.current.Store(next)
	r.data = data
	r.log.Info("rate limits reloaded", "file", r.path)
	return nil
}

func (r *Reloader) describe() string {
	if r.path == "" {
		return "the environment"
	}
	return r.path
}

// WatchSignals reloads on each of signals (SIGHUP when none are given)
// until ctx ends. It subscribes to the signals before it returns and
// handles them in a goroutine of its own. Errors are logged by Reload and
// do not stop the watch.
func (r *Reloader) WatchSignals(ctx context.Context, signals ...os.Signal) {
	if len(signals) == 0 {
		signals = []os.Signal{syscall.SIGHUP}
	}
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, signals...)
	go func() {
		defer signal.Stop(ch)
		for {
			select {
			case <-ctx.Done():
				return
			case <-ch:
				_ = r.Reload()
			}
		}
	}()
}

// WatchFile checks the file every interval until ctx ends and reloads when
// its contents change. It compares contents rather than modification
// times, so it also detects a file replaced through a symbolic link, as
// Kubernetes updates mounted configuration. A file that cannot be read is
// logged by Reload and tried again at the next check.
func (r *Reloader) WatchFile(ctx context.Context, interval time.Duration) error {
	if r.path == "" {
		return fmt.Errorf("ratelimit/config: WatchFile needs a file; the settings come from the environment only")
	}
	if interval <= 0 {
		return fmt.Errorf("ratelimit/config: WatchFile interval %s must be positive", interval)
	}
	for {
		timer := r.clock.NewTimer(interval)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-timer.C():
		}
		r.checkFile()
	}
}

// checkFile reloads when the file's contents differ from the current ones.
func (r *Reloader) checkFile() {
	data, err := os.ReadFile(r.path)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err == nil && bytes.Equal(data, r.data) {
		return
	}
	if err := r.reloadLocked(); err != nil {
		// Remember the rejected contents, so the same bad file is
		// reported once and not at every check.
		if data != nil {
			r.data = data
		}
	}
}
