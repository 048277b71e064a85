// Package inventorytest runs the real inventory handler on a SQLite store in
// a test's temporary directory, and calls it in process, without go-micro,
// for tests of the services that depend on inventory.
package inventorytest

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/bulwark-go/bulwark/services/inventory/api"
	"github.com/bulwark-go/bulwark/services/inventory/handler"
	"github.com/bulwark-go/bulwark/services/inventory/internal/store"
)

// Local calls an inventory handler directly. Its methods match the client in
// package inventory/client.
type Local struct {
	Handler *handler.Inventory
	Events  *handler.OrderEvents
}

// New opens a new inventory store with the demo products in t's temporary
// directory and returns a Local on it. The store closes when t ends.
func New(t testing.TB) *Local {
	t.Helper()
	s, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "inventory.db"))
	if err != nil {
		t.Fatalf("inventorytest: open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	h, err := handler.New(s, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatalf("inventorytest: %v", err)
	}
	return &Local{Handler: h, Events: handler.NewOrderEvents(h)}
}

// ListProducts calls the handler's ListProducts.
func (l *Local) ListProducts(ctx context.Context, req *api.ListProductsRequest) (*api.ListProductsResponse, error) {
	rsp := &api.ListProductsResponse{}
	return rsp, l.Handler.ListProducts(ctx, req, rsp)
}

// Reserve calls the handler's Reserve.
func (l *Local) Reserve(ctx context.Context, req *api.ReserveRequest) (*api.ReserveResponse, error) {
	rsp := &api.ReserveResponse{}
	return rsp, l.Handler.Reserve(ctx, req, rsp)
}

// Release calls the handler's Release.
func (l *Local) Release(ctx context.Context, req *api.ReleaseRequest) (*api.ReleaseResponse, error) {
	rsp := &api.ReleaseResponse{}
	return rsp, l.Handler.Release(ctx, req, rsp)
}

// Stock returns the current stock of a product or fails t.
func (l *Local) Stock(t testing.TB, productID string) int64 {
	t.Helper()
	var rsp api.GetProductResponse
	if err := l.Handler.GetProduct(context.Background(), &api.GetProductRequest{ProductID: productID}, &rsp); err != nil {
		t.Fatalf("inventorytest: GetProduct(%s): %v", productID, err)
	}
	return rsp.Product.Stock
}
