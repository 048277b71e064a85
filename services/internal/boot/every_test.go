package boot

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"
)

func TestEveryRunsOnTicksUntilShutdown(t *testing.T) {
	ticks := make(chan time.Time)
	var stopped atomic.Bool
	calls := make(chan struct{}, 10)
	c := every("sweep", slog.New(slog.NewTextHandler(io.Discard, nil)), func(ctx context.Context) error {
		calls <- struct{}{}
		return errors.New("failures are logged, not fatal")
	}, func() (<-chan time.Time, func()) { return ticks, func() { stopped.Store(true) } })

	result := make(chan error, 1)
	go func() { result <- c.Run() }()
	for range 3 {
		ticks <- time.Time{}
		<-calls
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-result; err != nil {
		t.Errorf("Run returned %v after Shutdown, want nil", err)
	}
	if !stopped.Load() {
		t.Error("the ticker was not stopped")
	}
	if len(calls) != 0 {
		t.Errorf("%d calls without a tick", len(calls))
	}
}

func TestBackgroundCancelsOnShutdown(t *testing.T) {
	c := Background("loop", func(ctx context.Context) { <-ctx.Done() })
	result := make(chan error, 1)
	go func() { result <- c.Run() }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-result; err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
}
