package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/services/internal/ids"
	"github.com/bulwark-go/bulwark/services/orders/api"
	"github.com/bulwark-go/bulwark/services/orders/internal/store"
)

// flakyPublisher fails the call numbered failAt (counting from 1) and
// records the order ids of the others.
type flakyPublisher struct {
	calls  int
	failAt int
	sent   []string
}

func (p *flakyPublisher) Publish(_ context.Context, _ string, msg any) error {
	p.calls++
	if p.calls == p.failAt {
		return errors.New("broker unavailable")
	}
	p.sent = append(p.sent, msg.(*api.OrderEvent).OrderID)
	return nil
}

func addOrder(t *testing.T, s *store.Store, user string) string {
	t.Helper()
	now := time.Now().UTC()
	o := api.Order{ID: ids.New(api.OrderIDPrefix), UserID: user, Status: api.StatusPlaced,
		Items: []api.OrderItem{{ProductID: "sku-1001", Quantity: 1, UnitPriceCents: 100}}, TotalCents: 100,
		CreatedAt: now, UpdatedAt: now}
	ev := api.OrderEvent{EventID: ids.New(api.EventIDPrefix), Topic: api.TopicOrderPlaced, OrderID: o.ID}
	payload, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateOrder(context.Background(), o, store.Event{ID: ev.EventID, Topic: ev.Topic, Payload: payload}); err != nil {
		t.Fatalf("CreateOrder: %v", err)
	}
	return o.ID
}

func TestFlushKeepsOrderAcrossFailure(t *testing.T) {
	s, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "orders.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var want []string
	for range 3 {
		want = append(want, addOrder(t, s, "u_1"))
	}
	pub := &flakyPublisher{failAt: 2}
	relay, err := New(s, pub, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}

	n, err := relay.Flush(context.Background())
	if err == nil || n != 1 {
		t.Fatalf("first Flush = (%d, %v), want (1, error)", n, err)
	}
	n, err = relay.Flush(context.Background())
	if err != nil || n != 2 {
		t.Fatalf("second Flush = (%d, %v), want (2, nil)", n, err)
	}
	if len(pub.sent) != 3 || pub.sent[0] != want[0] || pub.sent[1] != want[1] || pub.sent[2] != want[2] {
		t.Errorf("sent = %v, want %v in order", pub.sent, want)
	}
	n, err = relay.Flush(context.Background())
	if err != nil || n != 0 {
		t.Errorf("third Flush = (%d, %v), want nothing pending", n, err)
	}
}

func TestRunFlushesOnNotify(t *testing.T) {
	s, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "orders.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	pub := &notifyPublisher{sent: make(chan string, 4)}
	relay, err := New(s, pub, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { relay.Run(ctx, time.Hour); close(done) }()

	id := addOrder(t, s, "u_1")
	relay.Notify()
	select {
	case got := <-pub.sent:
		if got != id {
			t.Errorf("published %s, want %s", got, id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not publish after Notify")
	}
	cancel()
	<-done
}

type notifyPublisher struct{ sent chan string }

func (p *notifyPublisher) Publish(_ context.Context, _ string, msg any) error {
	p.sent <- msg.(*api.OrderEvent).OrderID
	return nil
}

func TestNewRequiresAll(t *testing.T) {
	if _, err := New(nil, nil, nil, nil); err == nil {
		t.Error("New with nil arguments succeeded")
	}
}
