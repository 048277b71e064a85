package handler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/bulwark-go/bulwark/services/internal/ids"
	"github.com/bulwark-go/bulwark/services/internal/rpc"
	"github.com/bulwark-go/bulwark/services/orders/api"
	"github.com/bulwark-go/bulwark/services/orders/internal/store"
	merrors "go-micro.dev/v4/errors"
)

// List returns the user's newest orders, at most api.MaxListedOrders.
func (h *Orders) List(ctx context.Context, req *api.ListRequest, rsp *api.ListResponse) error {
	if err := checkUserID(req.UserID); err != nil {
		return err
	}
	orders, err := h.store.ListOrders(ctx, req.UserID, api.MaxListedOrders)
	if err != nil {
		return rpc.Internal(ctx, h.log, api.ServiceName, "list orders of "+req.UserID, err)
	}
	rsp.Orders = orders
	if rsp.Orders == nil {
		rsp.Orders = []api.Order{}
	}
	return nil
}

// Get returns one order of the user. Another user's order is 404.
func (h *Orders) Get(ctx context.Context, req *api.GetRequest, rsp *api.GetResponse) error {
	if err := checkUserID(req.UserID); err != nil {
		return err
	}
	if err := checkOrderID(req.OrderID); err != nil {
		return err
	}
	order, err := h.store.Order(ctx, req.UserID, req.OrderID)
	if errors.Is(err, store.ErrNotFound) {
		return merrors.NotFound(api.ServiceName, "order %s not found", req.OrderID)
	}
	if err != nil {
		return rpc.Internal(ctx, h.log, api.ServiceName, "read order "+req.OrderID, err)
	}
	rsp.Order = order
	return nil
}

// Cancel cancels one order of the user and queues order.cancelled, on which
// inventory returns the stock. Cancelling a cancelled order returns it
// unchanged, so a retried cancel is safe. Another user's order is 404.
func (h *Orders) Cancel(ctx context.Context, req *api.CancelRequest, rsp *api.CancelResponse) error {
	if err := checkUserID(req.UserID); err != nil {
		return err
	}
	if err := checkOrderID(req.OrderID); err != nil {
		return err
	}
	now := h.now().UTC().Truncate(time.Millisecond)
	order, changed, err := h.store.CancelOrder(ctx, req.UserID, req.OrderID, now, func(o api.Order) (store.Event, error) {
		return newEvent(api.TopicOrderCancelled, o, now)
	})
	if errors.Is(err, store.ErrNotFound) {
		return merrors.NotFound(api.ServiceName, "order %s not found", req.OrderID)
	}
	if err != nil {
		return rpc.Internal(ctx, h.log, api.ServiceName, "cancel order "+req.OrderID, err)
	}
	if changed {
		h.outbox.Notify()
		h.log.InfoContext(ctx, "order cancelled", "order_id", order.ID, "user_id", order.UserID)
	}
	rsp.Order = order
	return nil
}

// newEvent builds the outbox entry of an event about o.
func newEvent(topic string, o api.Order, now time.Time) (store.Event, error) {
	ev := api.OrderEvent{
		EventID:    ids.New(api.EventIDPrefix),
		Topic:      topic,
		OrderID:    o.ID,
		UserID:     o.UserID,
		Status:     o.Status,
		Items:      o.Items,
		OccurredAt: now,
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		return store.Event{}, fmt.Errorf("encode event: %w", err)
	}
	return store.Event{ID: ev.EventID, Topic: topic, Payload: payload}, nil
}
