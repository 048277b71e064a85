package boot

import (
	"context"
	"log/slog"
	"time"

	"github.com/bulwark-go/bulwark/services/internal/run"
)

// Every returns a component that calls fn every interval until shutdown,
// for housekeeping such as deleting expired rows. A failure is logged and
// retried at the next tick; a call in progress at shutdown sees its
// context cancelled.
func Every(name string, interval time.Duration, log *slog.Logger, fn func(ctx context.Context) error) run.Component {
	return every(name, log, fn, func() (<-chan time.Time, func()) {
		t := time.NewTicker(interval)
		return t.C, t.Stop
	})
}

// every is Every with the ticker passed in, so that tests drive the ticks.
func every(name string, log *slog.Logger, fn func(ctx context.Context) error,
	newTicker func() (<-chan time.Time, func()),
) run.Component {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	return run.Component{
		Name: name,
		Run: func() error {
			defer close(done)
			ticks, stop := newTicker()
			defer stop()
			for {
				select {
				case <-ctx.Done():
					return nil
				case <-ticks:
				}
				if err := fn(ctx); err != nil && ctx.Err() == nil {
					log.Error("periodic task failed; retrying at the next tick", "task", name, "err", err)
				}
			}
		},
		Shutdown: func(shutdownCtx context.Context) error {
			cancel()
			select {
			case <-done:
				return nil
			case <-shutdownCtx.Done():
				return shutdownCtx.Err()
			}
		},
	}
}

// Background returns a component that runs fn until shutdown cancels its
// context, for loops such as an outbox relay. fn must return soon after
// its context is cancelled.
func Background(name string, fn func(ctx context.Context)) run.Component {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	return run.Component{
		Name: name,
		Run: func() error {
			defer close(done)
			fn(ctx)
			return nil
		},
		Shutdown: func(shutdownCtx context.Context) error {
			cancel()
			select {
			case <-done:
				return nil
			case <-shutdownCtx.Done():
				return shutdownCtx.Err()
			}
		},
	}
}
