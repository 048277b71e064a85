// Package outbox publishes the events that the orders store wrote to its
// outbox table, and retries those that fail.
//
// An event is marked published only after the broker accepted it, so a
// crash between the two publishes it again on the next flush: delivery is at
// least once, and consumers handle repeats (see the orders api package).
package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/bulwark-go/bulwark/services/orders/api"
	"github.com/bulwark-go/bulwark/services/orders/internal/store"
)

// DefaultRetryInterval is how often Run retries unpublished events when no
// new event wakes it.
const DefaultRetryInterval = 5 * time.Second

// batchSize is the most events one flush publishes.
const batchSize = 100

// Publisher sends one event to the broker.
type Publisher interface {
	Publish(ctx context.Context, topic string, msg any) error
}

// Relay publishes outbox events. Create it with New.
type Relay struct {
	store     *store.Store
	publisher Publisher
	log       *slog.Logger
	now       func() time.Time
	wake      chan struct{}
	mu        sync.Mutex // serializes Flush, so one event is not sent twice at once
}

// New returns a relay. now may be nil for time.Now.
func New(s *store.Store, p Publisher, log *slog.Logger, now func() time.Time) (*Relay, error) {
	if s == nil || p == nil || log == nil {
		return nil, errors.New("outbox: store, publisher and logger are required")
	}
	if now == nil {
		now = time.Now
	}
	return &Relay{store: s, publisher: p, log: log, now: now, wake: make(chan struct{}, 1)}, nil
}

// Notify wakes Run to flush soon. It never blocks.
func (r *Relay) Notify() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Flush publishes pending events in order and returns how many it published.
// It stops at the first failure, so a later event never overtakes an earlier
// one, and returns that failure.
func (r *Relay) Flush(ctx context.Context) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()

	events, err := r.store.PendingEvents(ctx, batchSize)
	if err != nil {
		return 0, fmt.Errorf("outbox: %w", err)
	}
	for i, ev := range events {
		var msg api.OrderEvent
		if err := json.Unmarshal(ev.Payload, &msg); err != nil {
			// A payload this service wrote cannot be read back: publishing
			// it is impossible, so it is marked and logged, not retried.
			r.log.ErrorContext(ctx, "skipping unreadable outbox event", "event_id", ev.ID, "err", err)
			if err := r.store.MarkPublished(ctx, ev.ID, r.now()); err != nil {
				return i, fmt.Errorf("outbox: %w", err)
			}
			continue
		}
		if err := r.publisher.Publish(ctx, ev.Topic, &msg); err != nil {
			return i, fmt.Errorf("outbox: publish event %s on %s: %w", ev.ID, ev.Topic, err)
		}
		if err := r.store.MarkPublished(ctx, ev.ID, r.now()); err != nil {
			return i, fmt.Errorf("outbox: %w", err)
		}
		r.log.InfoContext(ctx, "event published", "event_id", ev.ID, "topic", ev.Topic, "order_id", msg.OrderID)
	}
	if len(events) == batchSize {
		r.Notify() // more may be waiting
	}
	return len(events), nil
}

// Run flushes on every Notify and every interval (DefaultRetryInterval when
// interval is not positive) until ctx is done. Failures are logged and
// retried at the next tick.
func (r *Relay) Run(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = DefaultRetryInterval
	}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		if n, err := r.Flush(ctx); err != nil && ctx.Err() == nil {
			r.log.WarnContext(ctx, "outbox flush failed; retrying", "published", n, "retry_in", interval, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
		case <-ticker.C:
		}
	}
}
