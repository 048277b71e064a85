// Package run runs a service's long-lived components until SIGINT or SIGTERM
// and then shuts them down within a bounded time.
//
// Threat: a shutdown that drops accepted work or hangs. Components stop in
// reverse order of start (the API listener before the stores it uses), each
// gets the remaining part of one shutdown deadline, and Run returns when the
// deadline passes even if a component does not stop.
package run

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// DefaultShutdownTimeout bounds the whole shutdown when
// Options.ShutdownTimeout is 0.
const DefaultShutdownTimeout = 20 * time.Second

// Component is a long-lived part of a service, such as an HTTP server, a
// go-micro service or an outbox relay.
type Component struct {
	// Name identifies the component in logs and errors.
	Name string
	// Run blocks while the component works. It returns nil after Shutdown
	// asked it to stop, and an error if it fails on its own.
	Run func() error
	// Shutdown makes Run return after finishing in-flight work, within
	// ctx's deadline.
	Shutdown func(ctx context.Context) error
}

// Options configures Run.
type Options struct {
	// Log receives start, stop and failure lines. Required.
	Log *slog.Logger
	// ShutdownTimeout bounds the shutdown. Optional; default
	// DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
	// BeforeShutdown, if set, runs first when shutdown begins, for example
	// admin.Handler.Drain.
	BeforeShutdown func()
	// Signals that start the shutdown. Optional; default SIGINT and SIGTERM.
	Signals []os.Signal
}

// Run starts every component and waits until ctx is done, one of the
// signals arrives, or a component's Run returns. It then shuts all
// components down in reverse order and returns the first component failure
// or shutdown error, or nil after a clean stop.
func Run(ctx context.Context, opts Options, components ...Component) error {
	if opts.Log == nil {
		return errors.New("run: Options.Log is nil; pass the service logger")
	}
	for _, c := range components {
		if c.Name == "" || c.Run == nil || c.Shutdown == nil {
			return errors.New("run: every component needs a Name, Run and Shutdown")
		}
	}
	timeout := opts.ShutdownTimeout
	if timeout <= 0 {
		timeout = DefaultShutdownTimeout
	}
	signals := opts.Signals
	if len(signals) == 0 {
		signals = []os.Signal{os.Interrupt, syscall.SIGTERM}
	}
	sigCtx, stopSignals := signal.NotifyContext(ctx, signals...)
	defer stopSignals()

	type result struct {
		name string
		err  error
	}
	done := make(chan result, len(components))
	for _, c := range components {
		opts.Log.Info("component starting", "component", c.Name)
		go func() { done <- result{name: c.Name, err: c.Run()} }()
	}

	var failure error
	remaining := len(components)
	select {
	case <-sigCtx.Done():
		opts.Log.Info("shutdown requested", "cause", context.Cause(sigCtx))
	case r := <-done:
		remaining--
		if r.err != nil {
			failure = fmt.Errorf("run: %s failed: %w", r.name, r.err)
			opts.Log.Error("component failed; shutting down", "component", r.name, "err", r.err)
		} else {
			failure = fmt.Errorf("run: %s stopped unexpectedly", r.name)
			opts.Log.Error("component stopped unexpectedly; shutting down", "component", r.name)
		}
	}

	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	if opts.BeforeShutdown != nil {
		opts.BeforeShutdown()
	}
	var errs []error
	if failure != nil {
		errs = append(errs, failure)
	}
	for i := len(components) - 1; i >= 0; i-- {
		c := components[i]
		if err := c.Shutdown(shutdownCtx); err != nil {
			opts.Log.Error("component shutdown failed", "component", c.Name, "err", err)
			errs = append(errs, fmt.Errorf("run: shut down %s: %w", c.Name, err))
		}
	}
	for ; remaining > 0; remaining-- {
		select {
		case r := <-done:
			if r.err != nil {
				opts.Log.Error("component ended with an error", "component", r.name, "err", r.err)
				errs = append(errs, fmt.Errorf("run: %s: %w", r.name, r.err))
			}
			opts.Log.Info("component stopped", "component", r.name)
		case <-shutdownCtx.Done():
			opts.Log.Error("shutdown timed out", "timeout", timeout, "still_running", remaining)
			return errors.Join(append(errs, fmt.Errorf("run: shutdown timed out after %v with %d components running",
				timeout, remaining))...)
		}
	}
	return errors.Join(errs...)
}

// HTTPServer returns srv as a Component that serves on ln. A clean
// Shutdown is not a failure: http.ErrServerClosed is reported as nil.
func HTTPServer(name string, srv *http.Server, ln net.Listener) Component {
	return Component{
		Name: name,
		Run: func() error {
			err := srv.Serve(ln)
			if errors.Is(err, http.ErrServerClosed) {
				return nil
			}
			return err
		},
		Shutdown: srv.Shutdown,
	}
}
