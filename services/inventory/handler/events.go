package handler

import (
	"context"
	"fmt"

	ordersapi "github.com/bulwark-go/bulwark/services/orders/api"
)

// OrderEvents consumes the orders service's events. Register HandleCancelled
// with micro.RegisterSubscriber on ordersapi.TopicOrderCancelled.
type OrderEvents struct {
	inventory *Inventory
}

// NewOrderEvents returns the event consumer of h.
func NewOrderEvents(h *Inventory) *OrderEvents { return &OrderEvents{inventory: h} }

// HandleCancelled returns the stock of a cancelled order. Brokers may deliver
// an event twice; the release is idempotent, so a repeat changes nothing.
// A malformed event is logged and dropped (nil error), because delivering it
// again cannot fix it. A storage failure is returned so that the broker can
// deliver the event again.
//
// NOTE: the event's publisher is not checked here. go-micro passes no peer
// identity to subscribers, so only a broker with mTLS and per-topic publish
// rights keeps other callers from cancelling stock reservations.
func (e *OrderEvents) HandleCancelled(ctx context.Context, ev *ordersapi.OrderEvent) error {
	log := e.inventory.log
	if ev.Topic != ordersapi.TopicOrderCancelled || !ordersapi.ValidOrderID(ev.OrderID) {
		log.WarnContext(ctx, "dropping malformed order event", "topic", ev.Topic, "event_id", ev.EventID,
			"order_id_valid", ordersapi.ValidOrderID(ev.OrderID))
		return nil
	}
	if _, err := e.inventory.release(ctx, ev.OrderID); err != nil {
		log.ErrorContext(ctx, "release on order.cancelled failed", "order_id", ev.OrderID, "event_id", ev.EventID,
			"err", err)
		return fmt.Errorf("handler: release order %s: %w", ev.OrderID, err)
	}
	return nil
}
