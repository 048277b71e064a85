package handler

import (
	"context"
	"net/http"
	"time"

	"github.com/bulwark-go/bulwark/services/internal/ids"
	"github.com/bulwark-go/bulwark/services/internal/rpc"
	inventoryapi "github.com/bulwark-go/bulwark/services/inventory/api"
	"github.com/bulwark-go/bulwark/services/orders/api"
	usersapi "github.com/bulwark-go/bulwark/services/users/api"
	merrors "go-micro.dev/v4/errors"
)

// Place reserves stock, stores the order as placed and queues order.placed.
// It returns 400 for bad input or an unknown product, 409 when stock is
// short, and 503 when the inventory service cannot be reached. If the order
// cannot be stored, its stock is released before the error is returned.
func (h *Orders) Place(ctx context.Context, req *api.PlaceRequest, rsp *api.PlaceResponse) error {
	if err := checkUserID(req.UserID); err != nil {
		return err
	}
	items, err := checkItems(req.Items)
	if err != nil {
		return err
	}

	orderID := ids.New(api.OrderIDPrefix)
	reserved, err := h.inventory.Reserve(ctx, &inventoryapi.ReserveRequest{OrderID: orderID, Items: items})
	if err != nil {
		return h.reserveFailed(ctx, orderID, err)
	}

	now := h.now().UTC().Truncate(time.Millisecond)
	order := api.Order{
		ID:        orderID,
		UserID:    req.UserID,
		Status:    api.StatusPlaced,
		Items:     make([]api.OrderItem, 0, len(reserved.Items)),
		CreatedAt: now,
		UpdatedAt: now,
	}
	for _, it := range reserved.Items {
		order.Items = append(order.Items, api.OrderItem(it))
		order.TotalCents += it.Quantity * it.UnitPriceCents
	}
	ev, err := newEvent(api.TopicOrderPlaced, order, now)
	if err == nil {
		err = h.store.CreateOrder(ctx, order, ev)
	}
	if err != nil {
		h.release(ctx, orderID, "order could not be stored")
		return rpc.Internal(ctx, h.log, api.ServiceName, "store order "+orderID, err)
	}
	h.outbox.Notify()
	h.log.InfoContext(ctx, "order placed", "order_id", orderID, "user_id", req.UserID, "total_cents", order.TotalCents)
	rsp.Order = order
	return nil
}

// reserveFailed turns a failed reservation into the caller's error. Client
// errors of inventory are passed on with their field. When the reservation
// may have happened (no response, or an internal error), the order's stock is
// released, which also blocks a reservation still in flight.
func (h *Orders) reserveFailed(ctx context.Context, orderID string, err error) error {
	merr := rpc.AsError(err)
	if merr != nil && merr.Id != rpc.ClientID {
		field, reason := rpc.FieldReason(merr.Detail)
		switch {
		case merr.Code == http.StatusBadRequest && field != "":
			return rpc.InvalidField(api.ServiceName, field, reason)
		case merr.Code == http.StatusConflict && field != "":
			return rpc.FieldConflict(api.ServiceName, field, reason)
		case merr.Code == http.StatusTooManyRequests:
			h.log.WarnContext(ctx, "inventory rate-limited a reservation", "order_id", orderID, "detail", merr.Detail)
			return merrors.New(api.ServiceName, "inventory is busy; retry shortly", http.StatusServiceUnavailable)
		}
	}
	h.release(ctx, orderID, "reservation failed")
	if rpc.IsUnavailable(err) {
		h.log.WarnContext(ctx, "inventory unavailable", "order_id", orderID, "err", err)
		return merrors.New(api.ServiceName, "inventory is unavailable; retry shortly", http.StatusServiceUnavailable)
	}
	return rpc.Internal(ctx, h.log, api.ServiceName, "reserve stock for "+orderID, err)
}

// release returns the stock of orderID after a failure. It runs with its own
// deadline so that a cancelled request still releases, and logs a failure
// because the stock then stays reserved until released by hand.
func (h *Orders) release(ctx context.Context, orderID, reason string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.releaseTimeout)
	defer cancel()
	rsp, err := h.inventory.Release(ctx, &inventoryapi.ReleaseRequest{OrderID: orderID})
	if err != nil {
		h.log.ErrorContext(ctx, "release after failure failed; stock stays reserved until released by hand",
			"order_id", orderID, "reason", reason, "err", err)
		return
	}
	h.log.InfoContext(ctx, "stock released after failure", "order_id", orderID, "reason", reason,
		"returned_stock", rsp.Released)
}

func checkUserID(id string) error {
	if id == "" {
		return rpc.InvalidField(api.ServiceName, "user_id", "is required")
	}
	if !usersapi.ValidUserID(id) {
		return rpc.InvalidField(api.ServiceName, "user_id", "is not a valid user id")
	}
	return nil
}

func checkOrderID(id string) error {
	if id == "" {
		return rpc.InvalidField(api.ServiceName, "order_id", "is required")
	}
	if !api.ValidOrderID(id) {
		return rpc.InvalidField(api.ServiceName, "order_id", "is not a valid order id")
	}
	return nil
}

func checkItems(in []api.Item) ([]inventoryapi.Item, error) {
	if reason := inventoryapi.CheckItemCount(len(in)); reason != "" {
		return nil, rpc.InvalidField(api.ServiceName, "items", reason)
	}
	seen := make(map[string]bool, len(in))
	out := make([]inventoryapi.Item, 0, len(in))
	for i, it := range in {
		if field, reason := inventoryapi.CheckItem(it.ProductID, it.Quantity); field != "" {
			return nil, rpc.InvalidField(api.ServiceName, inventoryapi.ItemField(i, field), reason)
		}
		if seen[it.ProductID] {
			return nil, rpc.InvalidField(api.ServiceName, inventoryapi.ItemField(i, "product_id"),
				"appears twice; combine the quantities in one item")
		}
		seen[it.ProductID] = true
		out = append(out, inventoryapi.Item(it))
	}
	return out, nil
}
