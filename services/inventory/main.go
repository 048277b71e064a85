// Command inventory is the inventory service: products, stock and
// reservations, over mTLS, consuming the orders service's events. It is
// configured by BULWARK_* environment variables; see services/README.md.
package main

import (
	"context"

	"github.com/bulwark-go/bulwark/services/internal/admin"
	"github.com/bulwark-go/bulwark/services/internal/boot"
	"github.com/bulwark-go/bulwark/services/inventory/api"
	"github.com/bulwark-go/bulwark/services/inventory/handler"
	"github.com/bulwark-go/bulwark/services/inventory/internal/store"
	ordersapi "github.com/bulwark-go/bulwark/services/orders/api"
)

func main() {
	boot.Main(api.ServiceName, boot.Options{DataDir: true}, setup)
}

func setup(ctx context.Context, svc *boot.Service) error {
	db, err := store.Open(ctx, svc.DataFile("inventory.db"))
	if err != nil {
		return err
	}
	svc.OnClose(db.Close)
	svc.Check(admin.Check{Name: "database", Func: db.DB().PingContext})

	h, err := handler.New(db, svc.Log, nil)
	if err != nil {
		return err
	}
	if err := svc.Handle(h); err != nil {
		return err
	}
	events := handler.NewOrderEvents(h)
	if err := svc.Subscribe(ordersapi.TopicOrderPlaced, events.HandlePlaced); err != nil {
		return err
	}
	return svc.Subscribe(ordersapi.TopicOrderCancelled, events.HandleCancelled)
}
