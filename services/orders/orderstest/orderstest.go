// Package orderstest runs the real orders handler on a SQLite store in a
// test's temporary directory, and calls it in process, without go-micro.
package orderstest

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/bulwark-go/bulwark/services/orders/api"
	"github.com/bulwark-go/bulwark/services/orders/handler"
	"github.com/bulwark-go/bulwark/services/orders/internal/outbox"
	"github.com/bulwark-go/bulwark/services/orders/internal/store"
)

// Local calls an orders handler directly. Its methods match the client in
// package orders/client.
type Local struct {
	Handler *handler.Orders
	// Relay publishes the stored events; tests call Flush or Run.
	Relay *outbox.Relay
}

// New opens a new orders store in t's temporary directory and returns a
// Local whose handler reserves through inventory and whose relay publishes
// through publisher. The store closes when t ends.
func New(t testing.TB, inventory handler.Inventory, publisher outbox.Publisher) *Local {
	t.Helper()
	s, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "orders.db"))
	if err != nil {
		t.Fatalf("orderstest: open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	relay, err := outbox.New(s, publisher, log, nil)
	if err != nil {
		t.Fatalf("orderstest: %v", err)
	}
	h, err := handler.New(handler.Options{Store: s, Inventory: inventory, Outbox: relay, Log: log})
	if err != nil {
		t.Fatalf("orderstest: %v", err)
	}
	return &Local{Handler: h, Relay: relay}
}

// Place calls the handler's Place.
func (l *Local) Place(ctx context.Context, req *api.PlaceRequest) (*api.PlaceResponse, error) {
	rsp := &api.PlaceResponse{}
	return rsp, l.Handler.Place(ctx, req, rsp)
}

// List calls the handler's List.
func (l *Local) List(ctx context.Context, req *api.ListRequest) (*api.ListResponse, error) {
	rsp := &api.ListResponse{}
	return rsp, l.Handler.List(ctx, req, rsp)
}

// Get calls the handler's Get.
func (l *Local) Get(ctx context.Context, req *api.GetRequest) (*api.GetResponse, error) {
	rsp := &api.GetResponse{}
	return rsp, l.Handler.Get(ctx, req, rsp)
}

// Cancel calls the handler's Cancel.
func (l *Local) Cancel(ctx context.Context, req *api.CancelRequest) (*api.CancelResponse, error) {
	rsp := &api.CancelResponse{}
	return rsp, l.Handler.Cancel(ctx, req, rsp)
}
