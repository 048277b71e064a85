package handler

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/bulwark-go/bulwark/services/internal/ids"
	"github.com/bulwark-go/bulwark/services/internal/rpc"
	"github.com/bulwark-go/bulwark/services/inventory/api"
	"github.com/bulwark-go/bulwark/services/inventory/internal/store"
	ordersapi "github.com/bulwark-go/bulwark/services/orders/api"
)

func newHandler(t *testing.T) *Inventory {
	t.Helper()
	s, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "inventory.db"))
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	h, err := New(s, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return h
}

func newOrderID() string { return ids.New(ordersapi.OrderIDPrefix) }

func wantError(t *testing.T, err error, code int32, field string) {
	t.Helper()
	merr := rpc.AsError(err)
	if merr == nil {
		t.Fatalf("error = %v, want a go-micro error with code %d", err, code)
	}
	if merr.Code != code {
		t.Fatalf("error code = %d (%s), want %d", merr.Code, merr.Detail, code)
	}
	if got, _ := rpc.FieldReason(merr.Detail); got != field {
		t.Fatalf("error field = %q (detail %q), want %q", got, merr.Detail, field)
	}
}

func stockOf(t *testing.T, h *Inventory, id string) int64 {
	t.Helper()
	var rsp api.GetProductResponse
	if err := h.GetProduct(context.Background(), &api.GetProductRequest{ProductID: id}, &rsp); err != nil {
		t.Fatalf("GetProduct(%s): %v", id, err)
	}
	return rsp.Product.Stock
}

func TestNewRejectsNil(t *testing.T) {
	if _, err := New(nil, slog.Default(), nil); err == nil || !strings.Contains(err.Error(), "store is nil") {
		t.Errorf("New(nil store) = %v", err)
	}
	s := &store.Store{}
	if _, err := New(s, nil, nil); err == nil || !strings.Contains(err.Error(), "logger is nil") {
		t.Errorf("New(nil logger) = %v", err)
	}
}

func TestListAndGetProducts(t *testing.T) {
	h := newHandler(t)
	var list api.ListProductsResponse
	if err := h.ListProducts(context.Background(), &api.ListProductsRequest{}, &list); err != nil {
		t.Fatalf("ListProducts: %v", err)
	}
	if len(list.Products) != 5 {
		t.Fatalf("products = %d, want 5", len(list.Products))
	}
	if got := stockOf(t, h, "sku-1005"); got != 1 {
		t.Errorf("stock of sku-1005 = %d, want 1", got)
	}

	var rsp api.GetProductResponse
	wantError(t, h.GetProduct(context.Background(), &api.GetProductRequest{ProductID: "sku-0000"}, &rsp), 404, "")
	wantError(t, h.GetProduct(context.Background(), &api.GetProductRequest{ProductID: ""}, &rsp), 400, "product_id")
	wantError(t, h.GetProduct(context.Background(), &api.GetProductRequest{ProductID: "DROP TABLE"}, &rsp), 400, "product_id")
}

func TestReserveBadInput(t *testing.T) {
	h := newHandler(t)
	id := newOrderID()
	many := make([]api.Item, api.MaxItems+1)
	for i := range many {
		many[i] = api.Item{ProductID: "sku-1001", Quantity: 1}
	}
	tests := []struct {
		desc  string
		req   api.ReserveRequest
		code  int32
		field string
	}{
		{desc: "missing order id", req: api.ReserveRequest{Items: []api.Item{{ProductID: "sku-1001", Quantity: 1}}}, code: 400, field: "order_id"},
		{desc: "malformed order id", req: api.ReserveRequest{OrderID: "order-1", Items: []api.Item{{ProductID: "sku-1001", Quantity: 1}}},
			code: 400, field: "order_id"},
		{desc: "no items", req: api.ReserveRequest{OrderID: id}, code: 400, field: "items"},
		{desc: "too many items", req: api.ReserveRequest{OrderID: id, Items: many}, code: 400, field: "items"},
		{desc: "missing product", req: api.ReserveRequest{OrderID: id, Items: []api.Item{{ProductID: "", Quantity: 1}}},
			code: 400, field: "items[0].product_id"},
		{desc: "negative quantity", req: api.ReserveRequest{OrderID: id, Items: []api.Item{{ProductID: "sku-1001", Quantity: 1}, {ProductID: "sku-1002", Quantity: -1}}},
			code: 400, field: "items[1].quantity"},
		{desc: "zero quantity", req: api.ReserveRequest{OrderID: id, Items: []api.Item{{ProductID: "sku-1001", Quantity: 0}}},
			code: 400, field: "items[0].quantity"},
		{desc: "huge quantity", req: api.ReserveRequest{OrderID: id, Items: []api.Item{{ProductID: "sku-1001", Quantity: 1 << 62}}},
			code: 400, field: "items[0].quantity"},
		{desc: "duplicate product", req: api.ReserveRequest{OrderID: id, Items: []api.Item{{ProductID: "sku-1001", Quantity: 1}, {ProductID: "sku-1001", Quantity: 2}}},
			code: 400, field: "items[1].product_id"},
		{desc: "unknown product", req: api.ReserveRequest{OrderID: id, Items: []api.Item{{ProductID: "sku-1001", Quantity: 1}, {ProductID: "sku-0000", Quantity: 1}}},
			code: 400, field: "items[1].product_id"},
		{desc: "short stock", req: api.ReserveRequest{OrderID: id, Items: []api.Item{{ProductID: "sku-1005", Quantity: 2}}},
			code: 409, field: "items[0].quantity"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			var rsp api.ReserveResponse
			wantError(t, h.Reserve(context.Background(), &tt.req, &rsp), tt.code, tt.field)
		})
	}
	if got := stockOf(t, h, "sku-1001"); got != 40 {
		t.Errorf("stock of sku-1001 = %d after rejected reservations, want 40", got)
	}
}

// TestReserveLastItemOnce races many orders for the last unit of a product:
// exactly one wins and stock never goes below zero.
func TestReserveLastItemOnce(t *testing.T) {
	h := newHandler(t)
	const orders = 32
	var wins, conflicts atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range orders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			req := api.ReserveRequest{OrderID: newOrderID(), Items: []api.Item{{ProductID: "sku-1005", Quantity: 1}}}
			err := h.Reserve(context.Background(), &req, &api.ReserveResponse{})
			if err == nil {
				wins.Add(1)
				return
			}
			if merr := rpc.AsError(err); merr != nil && merr.Code == 409 {
				conflicts.Add(1)
				return
			}
			t.Errorf("Reserve: %v", err)
		}()
	}
	close(start)
	wg.Wait()
	if wins.Load() != 1 {
		t.Errorf("winning reservations = %d, want 1", wins.Load())
	}
	if conflicts.Load() != orders-1 {
		t.Errorf("409 conflicts = %d, want %d", conflicts.Load(), orders-1)
	}
	if got := stockOf(t, h, "sku-1005"); got != 0 {
		t.Errorf("stock = %d, want 0", got)
	}
}

func TestReserveReleaseIdempotent(t *testing.T) {
	h := newHandler(t)
	ctx := context.Background()
	id := newOrderID()
	req := api.ReserveRequest{OrderID: id, Items: []api.Item{{ProductID: "sku-1003", Quantity: 10}}}
	for range 2 {
		var rsp api.ReserveResponse
		if err := h.Reserve(ctx, &req, &rsp); err != nil {
			t.Fatalf("Reserve: %v", err)
		}
		if len(rsp.Items) != 1 || rsp.Items[0].UnitPriceCents != 999 {
			t.Fatalf("reserved = %+v", rsp.Items)
		}
	}
	if got := stockOf(t, h, "sku-1003"); got != 50 {
		t.Fatalf("stock after reserving one order twice = %d, want 50", got)
	}

	other := req
	other.Items = []api.Item{{ProductID: "sku-1003", Quantity: 11}}
	wantError(t, h.Reserve(ctx, &other, &api.ReserveResponse{}), 409, "order_id")

	for i, want := range []bool{true, false} {
		var rsp api.ReleaseResponse
		if err := h.Release(ctx, &api.ReleaseRequest{OrderID: id}, &rsp); err != nil {
			t.Fatalf("Release #%d: %v", i+1, err)
		}
		if rsp.Released != want {
			t.Errorf("Release #%d returned stock = %v, want %v", i+1, rsp.Released, want)
		}
	}
	if got := stockOf(t, h, "sku-1003"); got != 60 {
		t.Errorf("stock after releasing twice = %d, want 60", got)
	}
	wantError(t, h.Reserve(ctx, &req, &api.ReserveResponse{}), 409, "order_id")
	wantError(t, h.Release(ctx, &api.ReleaseRequest{OrderID: "x"}, &api.ReleaseResponse{}), 400, "order_id")
}

func TestCancelledEventReleases(t *testing.T) {
	h := newHandler(t)
	events := NewOrderEvents(h)
	ctx := context.Background()
	id := newOrderID()
	req := api.ReserveRequest{OrderID: id, Items: []api.Item{{ProductID: "sku-1004", Quantity: 5}}}
	if err := h.Reserve(ctx, &req, &api.ReserveResponse{}); err != nil {
		t.Fatal(err)
	}
	ev := &ordersapi.OrderEvent{EventID: ids.New(ordersapi.EventIDPrefix), Topic: ordersapi.TopicOrderCancelled,
		OrderID: id, Status: ordersapi.StatusCancelled}
	// A broker may deliver the event twice; stock comes back once.
	for range 2 {
		if err := events.HandleCancelled(ctx, ev); err != nil {
			t.Fatalf("HandleCancelled: %v", err)
		}
	}
	if got := stockOf(t, h, "sku-1004"); got != 15 {
		t.Errorf("stock after the event = %d, want 15", got)
	}
}

func TestCancelledEventMalformedDropped(t *testing.T) {
	h := newHandler(t)
	events := NewOrderEvents(h)
	tests := []struct {
		desc string
		ev   ordersapi.OrderEvent
	}{
		{desc: "wrong topic", ev: ordersapi.OrderEvent{Topic: ordersapi.TopicOrderPlaced, OrderID: newOrderID()}},
		{desc: "bad order id", ev: ordersapi.OrderEvent{Topic: ordersapi.TopicOrderCancelled, OrderID: "'; DROP"}},
		{desc: "empty", ev: ordersapi.OrderEvent{}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if err := events.HandleCancelled(context.Background(), &tt.ev); err != nil {
				t.Errorf("HandleCancelled = %v, want nil (dropped)", err)
			}
		})
	}
}

func placedEvent(id string, items ...ordersapi.OrderItem) *ordersapi.OrderEvent {
	return &ordersapi.OrderEvent{EventID: ids.New(ordersapi.EventIDPrefix), Topic: ordersapi.TopicOrderPlaced,
		OrderID: id, Items: items}
}

func TestPlacedEventConfirmsReservation(t *testing.T) {
	h := newHandler(t)
	events := NewOrderEvents(h)
	ctx := context.Background()
	id := newOrderID()
	req := api.ReserveRequest{OrderID: id, Items: []api.Item{{ProductID: "sku-1004", Quantity: 5}}}
	if err := h.Reserve(ctx, &req, &api.ReserveResponse{}); err != nil {
		t.Fatal(err)
	}
	if err := events.HandlePlaced(ctx, placedEvent(id, ordersapi.OrderItem{ProductID: "sku-1004", Quantity: 5})); err != nil {
		t.Fatalf("HandlePlaced: %v", err)
	}
	if got := stockOf(t, h, "sku-1004"); got != 10 {
		t.Errorf("stock after the event = %d, want 10 (taken once)", got)
	}
}

func TestPlacedEventTakesMissingReservation(t *testing.T) {
	h := newHandler(t)
	events := NewOrderEvents(h)
	ev := placedEvent(newOrderID(), ordersapi.OrderItem{ProductID: "sku-1004", Quantity: 2})
	for range 2 {
		if err := events.HandlePlaced(context.Background(), ev); err != nil {
			t.Fatalf("HandlePlaced: %v", err)
		}
	}
	if got := stockOf(t, h, "sku-1004"); got != 13 {
		t.Errorf("stock after two deliveries = %d, want 13", got)
	}
}

func TestPlacedEventAfterReleaseDropped(t *testing.T) {
	h := newHandler(t)
	events := NewOrderEvents(h)
	ctx := context.Background()
	id := newOrderID()
	if err := h.Release(ctx, &api.ReleaseRequest{OrderID: id}, &api.ReleaseResponse{}); err != nil {
		t.Fatal(err)
	}
	if err := events.HandlePlaced(ctx, placedEvent(id, ordersapi.OrderItem{ProductID: "sku-1004", Quantity: 2})); err != nil {
		t.Fatalf("HandlePlaced = %v, want nil (dropped)", err)
	}
	if got := stockOf(t, h, "sku-1004"); got != 15 {
		t.Errorf("stock = %d, want 15: a released order must not take stock", got)
	}
}

func TestPlacedEventUnfillableDropped(t *testing.T) {
	h := newHandler(t)
	events := NewOrderEvents(h)
	tests := []struct {
		desc string
		ev   *ordersapi.OrderEvent
	}{
		{"too much stock", placedEvent(newOrderID(), ordersapi.OrderItem{ProductID: "sku-1005", Quantity: 2})},
		{"unknown product", placedEvent(newOrderID(), ordersapi.OrderItem{ProductID: "sku-9999", Quantity: 1})},
		{"no items", placedEvent(newOrderID())},
		{"wrong topic", &ordersapi.OrderEvent{Topic: ordersapi.TopicOrderCancelled, OrderID: newOrderID()}},
		{"bad order id", placedEvent("x", ordersapi.OrderItem{ProductID: "sku-1004", Quantity: 1})},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if err := events.HandlePlaced(context.Background(), tt.ev); err != nil {
				t.Errorf("HandlePlaced = %v, want nil (dropped)", err)
			}
		})
	}
	if got := stockOf(t, h, "sku-1005"); got != 1 {
		t.Errorf("stock of sku-1005 = %d, want 1", got)
	}
}
