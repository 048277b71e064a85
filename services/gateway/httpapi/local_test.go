package httpapi

import (
	"context"
	"testing"

	"github.com/bulwark-go/bulwark/services/inventory/inventorytest"
	"github.com/bulwark-go/bulwark/services/orders/orderstest"
	"github.com/bulwark-go/bulwark/services/users/userstest"
)

type discardPublisher struct{}

func (discardPublisher) Publish(context.Context, string, any) error { return nil }

// localBackends wires the real users, orders and inventory handlers on
// SQLite stores in t's temporary directory.
func localBackends(t testing.TB) (Backends, *inventorytest.Local) {
	t.Helper()
	inv := inventorytest.New(t)
	return Backends{
		Users:    userstest.New(t),
		Orders:   orderstest.New(t, inv, discardPublisher{}),
		Products: inv,
	}, inv
}
