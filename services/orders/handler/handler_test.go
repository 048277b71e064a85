package handler

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/services/internal/ids"
	"github.com/bulwark-go/bulwark/services/internal/rpc"
	inventoryapi "github.com/bulwark-go/bulwark/services/inventory/api"
	"github.com/bulwark-go/bulwark/services/inventory/inventorytest"
	"github.com/bulwark-go/bulwark/services/orders/api"
	"github.com/bulwark-go/bulwark/services/orders/internal/outbox"
	"github.com/bulwark-go/bulwark/services/orders/internal/store"
	usersapi "github.com/bulwark-go/bulwark/services/users/api"
	merrors "go-micro.dev/v4/errors"
)

// recordingPublisher keeps published events and fails while err is set.
type recordingPublisher struct {
	mu     sync.Mutex
	err    error
	events []*api.OrderEvent
}

func (p *recordingPublisher) Publish(_ context.Context, topic string, msg any) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return p.err
	}
	ev := msg.(*api.OrderEvent)
	if ev.Topic != topic {
		return errors.New("topic mismatch")
	}
	p.events = append(p.events, ev)
	return nil
}

func (p *recordingPublisher) topics() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, ev := range p.events {
		out = append(out, ev.Topic)
	}
	return out
}

type fixture struct {
	h         *Orders
	store     *store.Store
	path      string
	inventory *inventorytest.Local
	relay     *outbox.Relay
	publisher *recordingPublisher
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{path: filepath.Join(t.TempDir(), "orders.db"), publisher: &recordingPublisher{}}
	f.inventory = inventorytest.New(t)
	f.open(t)
	return f
}

// open opens the store at f.path and builds the handler on it, as a service
// start does.
func (f *fixture) open(t *testing.T) {
	t.Helper()
	s, err := store.Open(context.Background(), f.path)
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	relay, err := outbox.New(s, f.publisher, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(Options{Store: s, Inventory: f.inventory, Outbox: relay, Log: log})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	f.h, f.store, f.relay = h, s, relay
}

var (
	ann = ids.New(usersapi.UserIDPrefix)
	bob = ids.New(usersapi.UserIDPrefix)
)

func (f *fixture) place(t *testing.T, user string, items ...api.Item) api.Order {
	t.Helper()
	var rsp api.PlaceResponse
	if err := f.h.Place(context.Background(), &api.PlaceRequest{UserID: user, Items: items}, &rsp); err != nil {
		t.Fatalf("Place: %v", err)
	}
	return rsp.Order
}

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

func TestNewRejectsMissingOptions(t *testing.T) {
	s := &store.Store{}
	inv := inventorytest.New(t)
	log := slog.Default()
	relay := &outbox.Relay{}
	tests := []struct {
		desc string
		opts Options
		want string
	}{
		{desc: "store", opts: Options{Inventory: inv, Outbox: relay, Log: log}, want: "Store is nil"},
		{desc: "inventory", opts: Options{Store: s, Outbox: relay, Log: log}, want: "Inventory is nil"},
		{desc: "outbox", opts: Options{Store: s, Inventory: inv, Log: log}, want: "Outbox is nil"},
		{desc: "log", opts: Options{Store: s, Inventory: inv, Outbox: relay}, want: "Log is nil"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if _, err := New(tt.opts); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestPlaceListGetCancel(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()

	order := f.place(t, ann, api.Item{ProductID: "sku-1001", Quantity: 2}, api.Item{ProductID: "sku-1003", Quantity: 1})
	if !api.ValidOrderID(order.ID) || order.Status != api.StatusPlaced || order.UserID != ann {
		t.Fatalf("placed order = %+v", order)
	}
	if want := int64(2*1899 + 999); order.TotalCents != want {
		t.Errorf("total = %d, want %d", order.TotalCents, want)
	}
	if got := f.inventory.Stock(t, "sku-1001"); got != 38 {
		t.Errorf("stock of sku-1001 = %d, want 38", got)
	}

	var list api.ListResponse
	if err := f.h.List(ctx, &api.ListRequest{UserID: ann}, &list); err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(list.Orders) != 1 || list.Orders[0].ID != order.ID {
		t.Fatalf("List = %+v, want the placed order", list.Orders)
	}

	var got api.GetResponse
	if err := f.h.Get(ctx, &api.GetRequest{UserID: ann, OrderID: order.ID}, &got); err != nil {
		t.Fatalf("Get: %v", err)
	}
	if got.Order.TotalCents != order.TotalCents || len(got.Order.Items) != 2 || !got.Order.CreatedAt.Equal(order.CreatedAt) {
		t.Errorf("Get = %+v, want %+v", got.Order, order)
	}

	for range 2 {
		var cancelled api.CancelResponse
		if err := f.h.Cancel(ctx, &api.CancelRequest{UserID: ann, OrderID: order.ID}, &cancelled); err != nil {
			t.Fatalf("Cancel: %v", err)
		}
		if cancelled.Order.Status != api.StatusCancelled {
			t.Errorf("status after Cancel = %q", cancelled.Order.Status)
		}
	}

	if _, err := f.relay.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	topics := f.publisher.topics()
	if strings.Join(topics, ",") != api.TopicOrderPlaced+","+api.TopicOrderCancelled {
		t.Errorf("published topics = %v, want one placed and one cancelled", topics)
	}
}

func TestOtherUsersOrderNotFound(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	order := f.place(t, ann, api.Item{ProductID: "sku-1002", Quantity: 1})

	wantError(t, f.h.Get(ctx, &api.GetRequest{UserID: bob, OrderID: order.ID}, &api.GetResponse{}), 404, "")
	wantError(t, f.h.Cancel(ctx, &api.CancelRequest{UserID: bob, OrderID: order.ID}, &api.CancelResponse{}), 404, "")
	var list api.ListResponse
	if err := f.h.List(ctx, &api.ListRequest{UserID: bob}, &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Orders) != 0 {
		t.Errorf("bob lists %d orders, want 0", len(list.Orders))
	}

	// Bob's failed cancel left Ann's order as it was.
	var got api.GetResponse
	if err := f.h.Get(ctx, &api.GetRequest{UserID: ann, OrderID: order.ID}, &got); err != nil {
		t.Fatal(err)
	}
	if got.Order.Status != api.StatusPlaced {
		t.Errorf("status = %q after another user's cancel, want placed", got.Order.Status)
	}
	unknown := ids.New(api.OrderIDPrefix)
	wantError(t, f.h.Get(ctx, &api.GetRequest{UserID: ann, OrderID: unknown}, &api.GetResponse{}), 404, "")
}

func TestPlaceBadInput(t *testing.T) {
	f := newFixture(t)
	many := make([]api.Item, inventoryapi.MaxItems+1)
	for i := range many {
		many[i] = api.Item{ProductID: "sku-1001", Quantity: 1}
	}
	one := []api.Item{{ProductID: "sku-1001", Quantity: 1}}
	tests := []struct {
		desc  string
		req   api.PlaceRequest
		code  int32
		field string
	}{
		{desc: "missing user", req: api.PlaceRequest{Items: one}, code: 400, field: "user_id"},
		{desc: "malformed user", req: api.PlaceRequest{UserID: "admin", Items: one}, code: 400, field: "user_id"},
		{desc: "no items", req: api.PlaceRequest{UserID: ann}, code: 400, field: "items"},
		{desc: "too many items", req: api.PlaceRequest{UserID: ann, Items: many}, code: 400, field: "items"},
		{desc: "negative quantity", req: api.PlaceRequest{UserID: ann, Items: []api.Item{{ProductID: "sku-1001", Quantity: -1}}},
			code: 400, field: "items[0].quantity"},
		{desc: "oversized product id", req: api.PlaceRequest{UserID: ann, Items: []api.Item{{ProductID: strings.Repeat("a", 500), Quantity: 1}}},
			code: 400, field: "items[0].product_id"},
		{desc: "duplicate product", req: api.PlaceRequest{UserID: ann, Items: []api.Item{{ProductID: "sku-1001", Quantity: 1}, {ProductID: "sku-1001", Quantity: 1}}},
			code: 400, field: "items[1].product_id"},
		{desc: "unknown product", req: api.PlaceRequest{UserID: ann, Items: []api.Item{{ProductID: "sku-1001", Quantity: 1}, {ProductID: "sku-9999", Quantity: 1}}},
			code: 400, field: "items[1].product_id"},
		{desc: "short stock", req: api.PlaceRequest{UserID: ann, Items: []api.Item{{ProductID: "sku-1005", Quantity: 2}}},
			code: 409, field: "items[0].quantity"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			wantError(t, f.h.Place(context.Background(), &tt.req, &api.PlaceResponse{}), tt.code, tt.field)
		})
	}
	if got := f.inventory.Stock(t, "sku-1001"); got != 40 {
		t.Errorf("stock = %d after rejected orders, want 40", got)
	}

	ctx := context.Background()
	wantError(t, f.h.Get(ctx, &api.GetRequest{UserID: ann, OrderID: "../x"}, &api.GetResponse{}), 400, "order_id")
	wantError(t, f.h.Get(ctx, &api.GetRequest{UserID: ann}, &api.GetResponse{}), 400, "order_id")
	wantError(t, f.h.Cancel(ctx, &api.CancelRequest{OrderID: ids.New("o")}, &api.CancelResponse{}), 400, "user_id")
	wantError(t, f.h.List(ctx, &api.ListRequest{}, &api.ListResponse{}), 400, "user_id")
}

// failingStore fails CreateOrder, as a full disk or a broken file would.
type failingStore struct{ *store.Store }

func (failingStore) CreateOrder(context.Context, api.Order, store.Event) error {
	return errors.New("disk I/O error")
}

func TestPlaceReleasesWhenStoreFails(t *testing.T) {
	f := newFixture(t)
	f.h.store = failingStore{f.store}
	err := f.h.Place(context.Background(), &api.PlaceRequest{UserID: ann,
		Items: []api.Item{{ProductID: "sku-1004", Quantity: 3}}}, &api.PlaceResponse{})
	wantError(t, err, 500, "")
	if merr := rpc.AsError(err); strings.Contains(merr.Detail, "disk") {
		t.Errorf("error detail %q leaks the cause", merr.Detail)
	}
	if got := f.inventory.Stock(t, "sku-1004"); got != 15 {
		t.Errorf("stock = %d after a failed store, want 15 (released)", got)
	}
}

// unreachableInventory fails as the go-micro client does when no instance
// responds, after the reservation may or may not have happened.
type unreachableInventory struct {
	*inventorytest.Local
	reserveFirst bool
}

func (u unreachableInventory) Reserve(ctx context.Context, req *inventoryapi.ReserveRequest) (*inventoryapi.ReserveResponse, error) {
	if u.reserveFirst {
		if _, err := u.Local.Reserve(ctx, req); err != nil {
			return nil, err
		}
	}
	return nil, merrors.New(rpc.ClientID, "context deadline exceeded", 408)
}

func TestPlaceInventoryUnavailable(t *testing.T) {
	f := newFixture(t)
	f.h.inventory = unreachableInventory{Local: f.inventory, reserveFirst: true}
	err := f.h.Place(context.Background(), &api.PlaceRequest{UserID: ann,
		Items: []api.Item{{ProductID: "sku-1002", Quantity: 5}}}, &api.PlaceResponse{})
	wantError(t, err, 503, "")
	if got := f.inventory.Stock(t, "sku-1002"); got != 25 {
		t.Errorf("stock = %d after a timed-out reservation, want 25 (released)", got)
	}
}

func TestPlacedOrderSurvivesRestart(t *testing.T) {
	f := newFixture(t)
	f.publisher.err = errors.New("broker down")
	order := f.place(t, ann, api.Item{ProductID: "sku-1001", Quantity: 1})
	if _, err := f.relay.Flush(context.Background()); err == nil {
		t.Fatal("Flush succeeded with the broker down")
	}
	if err := f.store.Close(); err != nil {
		t.Fatal(err)
	}

	f.open(t)
	var got api.GetResponse
	if err := f.h.Get(context.Background(), &api.GetRequest{UserID: ann, OrderID: order.ID}, &got); err != nil {
		t.Fatalf("Get after restart: %v", err)
	}
	if got.Order.Status != api.StatusPlaced || got.Order.TotalCents != 1899 {
		t.Errorf("order after restart = %+v", got.Order)
	}

	// The event that the broker rejected before the restart is sent now.
	f.publisher.err = nil
	n, err := f.relay.Flush(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("Flush after restart = (%d, %v), want (1, nil)", n, err)
	}
	if topics := f.publisher.topics(); len(topics) != 1 || topics[0] != api.TopicOrderPlaced {
		t.Errorf("published = %v, want one order.placed", topics)
	}
}

func TestListNewestFirst(t *testing.T) {
	f := newFixture(t)
	clock := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	f.h.now = func() time.Time { clock = clock.Add(time.Second); return clock }
	first := f.place(t, ann, api.Item{ProductID: "sku-1001", Quantity: 1})
	second := f.place(t, ann, api.Item{ProductID: "sku-1002", Quantity: 1})
	var list api.ListResponse
	if err := f.h.List(context.Background(), &api.ListRequest{UserID: ann}, &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Orders) != 2 || list.Orders[0].ID != second.ID || list.Orders[1].ID != first.ID {
		t.Errorf("List order = %v, want newest first", list.Orders)
	}
}
