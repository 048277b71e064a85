package handler

import (
	"context"
	"errors"
	"fmt"

	"github.com/bulwark-go/bulwark/services/inventory/internal/store"
	ordersapi "github.com/bulwark-go/bulwark/services/orders/api"
)

// OrderEvents consumes the orders service's events. Register HandlePlaced on
// ordersapi.TopicOrderPlaced and HandleCancelled on
// ordersapi.TopicOrderCancelled.
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

// HandlePlaced makes sure the stock of a placed order is reserved. Orders
// reserves before it stores an order, so the reservation normally exists
// and the idempotent reserve takes nothing. If it is missing, the event
// takes the stock now. An order that was released already, or whose items
// no longer match or fit the stock, is logged and dropped (nil error),
// because delivering the event again cannot change that. A storage failure
// is returned so that the event is delivered again.
func (e *OrderEvents) HandlePlaced(ctx context.Context, ev *ordersapi.OrderEvent) error {
	log := e.inventory.log
	if ev.Topic != ordersapi.TopicOrderPlaced || !ordersapi.ValidOrderID(ev.OrderID) || len(ev.Items) == 0 {
		log.WarnContext(ctx, "dropping malformed order event", "topic", ev.Topic, "event_id", ev.EventID,
			"order_id_valid", ordersapi.ValidOrderID(ev.OrderID), "items", len(ev.Items))
		return nil
	}
	items := make([]store.Item, len(ev.Items))
	for i, it := range ev.Items {
		items[i] = store.Item{ProductID: it.ProductID, Quantity: it.Quantity}
	}
	_, err := e.inventory.store.Reserve(ctx, ev.OrderID, items, e.inventory.now().UTC())
	var itemErr *store.ItemError
	switch {
	case err == nil:
		log.DebugContext(ctx, "reservation of placed order confirmed", "order_id", ev.OrderID, "event_id", ev.EventID)
		return nil
	case errors.Is(err, store.ErrReleased):
		log.InfoContext(ctx, "placed order was already released", "order_id", ev.OrderID, "event_id", ev.EventID)
		return nil
	case errors.Is(err, store.ErrMismatch), errors.As(err, &itemErr):
		log.ErrorContext(ctx, "placed order has no matching reservation and its stock cannot be taken",
			"order_id", ev.OrderID, "event_id", ev.EventID, "err", err)
		return nil
	default:
		log.ErrorContext(ctx, "reserve on order.placed failed", "order_id", ev.OrderID, "event_id", ev.EventID,
			"err", err)
		return fmt.Errorf("handler: confirm reservation of order %s: %w", ev.OrderID, err)
	}
}
