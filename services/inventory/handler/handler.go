package handler

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/bulwark-go/bulwark/services/internal/rpc"
	"github.com/bulwark-go/bulwark/services/inventory/api"
	"github.com/bulwark-go/bulwark/services/inventory/internal/store"
	ordersapi "github.com/bulwark-go/bulwark/services/orders/api"
	merrors "go-micro.dev/v4/errors"
)

// Inventory is the go-micro handler of the inventory service. Register it
// with micro.RegisterHandler; its endpoints are named in package api.
type Inventory struct {
	store *store.Store
	log   *slog.Logger
	now   func() time.Time
}

// New returns an inventory handler. now may be nil for time.Now.
func New(s *store.Store, log *slog.Logger, now func() time.Time) (*Inventory, error) {
	if s == nil {
		return nil, errors.New("handler: store is nil; open the inventory store first")
	}
	if log == nil {
		return nil, errors.New("handler: logger is nil; pass the service logger")
	}
	if now == nil {
		now = time.Now
	}
	return &Inventory{store: s, log: log, now: now}, nil
}

// ListProducts returns every product with its stock.
func (h *Inventory) ListProducts(ctx context.Context, req *api.ListProductsRequest, rsp *api.ListProductsResponse) error {
	products, err := h.store.ListProducts(ctx)
	if err != nil {
		return rpc.Internal(ctx, h.log, api.ServiceName, "list products", err)
	}
	rsp.Products = make([]api.Product, 0, len(products))
	for _, p := range products {
		rsp.Products = append(rsp.Products, api.Product(p))
	}
	return nil
}

// GetProduct returns one product, or 404.
func (h *Inventory) GetProduct(ctx context.Context, req *api.GetProductRequest, rsp *api.GetProductResponse) error {
	if field, reason := api.CheckItem(req.ProductID, 1); field != "" {
		return rpc.InvalidField(api.ServiceName, field, reason)
	}
	p, err := h.store.Product(ctx, req.ProductID)
	if errors.Is(err, store.ErrNotFound) {
		return merrors.NotFound(api.ServiceName, "product %s not found", req.ProductID)
	}
	if err != nil {
		return rpc.Internal(ctx, h.log, api.ServiceName, "read product", err)
	}
	rsp.Product = api.Product(p)
	return nil
}

// Reserve takes stock for an order, all items or none. It returns 400 for
// bad input or an unknown product, and 409 when stock is short or the order
// was released or reserved with other items.
func (h *Inventory) Reserve(ctx context.Context, req *api.ReserveRequest, rsp *api.ReserveResponse) error {
	if err := checkOrderID(req.OrderID); err != nil {
		return err
	}
	items, err := checkItems(req.Items)
	if err != nil {
		return err
	}
	reserved, err := h.store.Reserve(ctx, req.OrderID, items, h.now().UTC())
	var itemErr *store.ItemError
	switch {
	case err == nil:
	case errors.Is(err, store.ErrReleased):
		return rpc.FieldConflict(api.ServiceName, "order_id", "was released; place a new order")
	case errors.Is(err, store.ErrMismatch):
		return rpc.FieldConflict(api.ServiceName, "order_id", "is already reserved with other items")
	case errors.As(err, &itemErr) && errors.Is(err, store.ErrUnknownProduct):
		return rpc.InvalidField(api.ServiceName, api.ItemField(itemErr.Index, "product_id"), "is not a known product")
	case errors.As(err, &itemErr) && errors.Is(err, store.ErrInsufficientStock):
		return rpc.FieldConflict(api.ServiceName, api.ItemField(itemErr.Index, "quantity"), "exceeds the available stock")
	default:
		return rpc.Internal(ctx, h.log, api.ServiceName, "reserve "+req.OrderID, err)
	}
	rsp.Items = make([]api.ReservedItem, 0, len(reserved))
	for _, it := range reserved {
		rsp.Items = append(rsp.Items, api.ReservedItem(it))
	}
	h.log.InfoContext(ctx, "stock reserved", "order_id", req.OrderID, "items", len(reserved))
	return nil
}

// Release returns the stock of an order. It is idempotent.
func (h *Inventory) Release(ctx context.Context, req *api.ReleaseRequest, rsp *api.ReleaseResponse) error {
	if err := checkOrderID(req.OrderID); err != nil {
		return err
	}
	released, err := h.release(ctx, req.OrderID)
	if err != nil {
		return rpc.Internal(ctx, h.log, api.ServiceName, "release "+req.OrderID, err)
	}
	rsp.Released = released
	return nil
}

func (h *Inventory) release(ctx context.Context, orderID string) (bool, error) {
	released, err := h.store.Release(ctx, orderID, h.now().UTC())
	if err != nil {
		return false, err
	}
	h.log.InfoContext(ctx, "stock released", "order_id", orderID, "returned_stock", released)
	return released, nil
}

func checkOrderID(id string) error {
	if id == "" {
		return rpc.InvalidField(api.ServiceName, "order_id", "is required")
	}
	if !ordersapi.ValidOrderID(id) {
		return rpc.InvalidField(api.ServiceName, "order_id", "is not a valid order id")
	}
	return nil
}

func checkItems(in []api.Item) ([]store.Item, error) {
	if reason := api.CheckItemCount(len(in)); reason != "" {
		return nil, rpc.InvalidField(api.ServiceName, "items", reason)
	}
	seen := make(map[string]bool, len(in))
	out := make([]store.Item, 0, len(in))
	for i, it := range in {
		if field, reason := api.CheckItem(it.ProductID, it.Quantity); field != "" {
			return nil, rpc.InvalidField(api.ServiceName, api.ItemField(i, field), reason)
		}
		if seen[it.ProductID] {
			return nil, rpc.InvalidField(api.ServiceName, api.ItemField(i, "product_id"),
				"appears twice; combine the quantities in one item")
		}
		seen[it.ProductID] = true
		out = append(out, store.Item(it))
	}
	return out, nil
}
