// Command orders is the orders service: it places orders (reserving stock
// through inventory), lists and cancels them, and publishes order events,
// all over mTLS. It is configured by BULWARK_* environment variables; see
// services/README.md.
package main

import (
	"context"

	"github.com/bulwark-go/bulwark/services/internal/admin"
	"github.com/bulwark-go/bulwark/services/internal/boot"
	"github.com/bulwark-go/bulwark/services/internal/rpc"
	inventoryclient "github.com/bulwark-go/bulwark/services/inventory/client"
	"github.com/bulwark-go/bulwark/services/orders/api"
	"github.com/bulwark-go/bulwark/services/orders/handler"
	"github.com/bulwark-go/bulwark/services/orders/internal/outbox"
	"github.com/bulwark-go/bulwark/services/orders/internal/store"
)

func main() {
	boot.Main(api.ServiceName, boot.Options{DataDir: true}, setup)
}

func setup(ctx context.Context, svc *boot.Service) error {
	db, err := store.Open(ctx, svc.DataFile("orders.db"))
	if err != nil {
		return err
	}
	svc.OnClose(db.Close)
	svc.Check(admin.Check{Name: "database", Func: db.DB().PingContext})

	inventory, err := inventoryclient.New(svc.Client())
	if err != nil {
		return err
	}
	publisher, err := rpc.NewPublisher(svc.Client())
	if err != nil {
		return err
	}
	relay, err := outbox.New(db, publisher, svc.Log, nil)
	if err != nil {
		return err
	}
	h, err := handler.New(handler.Options{Store: db, Inventory: inventory, Outbox: relay, Log: svc.Log})
	if err != nil {
		return err
	}
	if err := svc.Handle(h); err != nil {
		return err
	}

	// Events stored with an order change are published until the broker
	// accepts them, also after a restart.
	svc.Go(boot.Background("outbox relay", func(ctx context.Context) {
		relay.Run(ctx, outbox.DefaultRetryInterval)
	}))
	return nil
}
