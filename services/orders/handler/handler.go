package handler

import (
	"context"
	"errors"
	"log/slog"
	"time"

	inventoryapi "github.com/bulwark-go/bulwark/services/inventory/api"
	"github.com/bulwark-go/bulwark/services/orders/api"
	"github.com/bulwark-go/bulwark/services/orders/internal/store"
)

// DefaultReleaseTimeout bounds the compensating release after a failed
// order, which runs even when the caller's request was cancelled.
const DefaultReleaseTimeout = 5 * time.Second

// Inventory is the part of the inventory service that orders use. In
// production it is the go-micro client in package inventory/client.
type Inventory interface {
	Reserve(ctx context.Context, req *inventoryapi.ReserveRequest) (*inventoryapi.ReserveResponse, error)
	Release(ctx context.Context, req *inventoryapi.ReleaseRequest) (*inventoryapi.ReleaseResponse, error)
}

// Store is the orders database, *store.Store in production.
type Store interface {
	CreateOrder(ctx context.Context, o api.Order, ev store.Event) error
	Order(ctx context.Context, userID, orderID string) (api.Order, error)
	ListOrders(ctx context.Context, userID string, limit int) ([]api.Order, error)
	CancelOrder(ctx context.Context, userID, orderID string, now time.Time,
		newEvent func(api.Order) (store.Event, error)) (api.Order, bool, error)
}

// Notifier wakes the outbox relay after a new event was stored.
type Notifier interface {
	Notify()
}

// Options configures the orders handler.
type Options struct {
	// Store is the orders database. Required.
	Store Store
	// Inventory reserves and releases stock. Required.
	Inventory Inventory
	// Outbox is woken after each stored event. Required.
	Outbox Notifier
	// Log receives one line per failed request. Required.
	Log *slog.Logger
	// Now returns the current time. Optional; default time.Now.
	Now func() time.Time
	// ReleaseTimeout overrides DefaultReleaseTimeout when positive.
	ReleaseTimeout time.Duration
}

// Orders is the go-micro handler of the orders service. Register it with
// micro.RegisterHandler; its endpoints are named in package api.
type Orders struct {
	store          Store
	inventory      Inventory
	outbox         Notifier
	log            *slog.Logger
	now            func() time.Time
	releaseTimeout time.Duration
}

// New returns an orders handler.
func New(opts Options) (*Orders, error) {
	switch {
	case opts.Store == nil:
		return nil, errors.New("handler: Options.Store is nil; open the orders store first")
	case opts.Inventory == nil:
		return nil, errors.New("handler: Options.Inventory is nil; pass the inventory client")
	case opts.Outbox == nil:
		return nil, errors.New("handler: Options.Outbox is nil; pass the outbox relay")
	case opts.Log == nil:
		return nil, errors.New("handler: Options.Log is nil; pass the service logger")
	}
	h := &Orders{
		store:          opts.Store,
		inventory:      opts.Inventory,
		outbox:         opts.Outbox,
		log:            opts.Log,
		now:            opts.Now,
		releaseTimeout: opts.ReleaseTimeout,
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.releaseTimeout <= 0 {
		h.releaseTimeout = DefaultReleaseTimeout
	}
	return h, nil
}
