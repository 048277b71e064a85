package microwrap

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go-micro.dev/v4/client"
	"go-micro.dev/v4/codec"
	"go-micro.dev/v4/server"

	"github.com/bulwark-go/bulwark/platform/security/internal/clock"
	"github.com/bulwark-go/bulwark/platform/security/ratelimit"
)

const topic = "order.created"

type fakeMessage struct{ id int }

func (m fakeMessage) Topic() string             { return topic }
func (m fakeMessage) Payload() any              { return m.id }
func (m fakeMessage) ContentType() string       { return "application/json" }
func (m fakeMessage) Header() map[string]string { return nil }
func (m fakeMessage) Body() []byte              { return nil }
func (m fakeMessage) Codec() codec.Reader       { return nil }

// subscriberRig runs a wrapped subscriber on a fake clock and records the
// messages it handles.
type subscriberRig struct {
	clock   *clock.Fake
	metrics *ratelimit.Metrics
	promReg *prometheus.Registry
	handle  server.SubscriberFunc

	mu      sync.Mutex
	handled []int
}

func newSubscriberRig(t *testing.T, limit ratelimit.Limit, maxWait time.Duration, store ratelimit.Store) *subscriberRig {
	t.Helper()
	rig := &subscriberRig{clock: clock.NewFake(testEpoch), promReg: prometheus.NewRegistry()}
	var err error
	if store == nil {
		if store, err = ratelimit.NewMemory[ratelimit.Key](ratelimit.MemoryOptions{Clock: rig.clock}); err != nil {
			t.Fatal(err)
		}
	}
	if rig.metrics, err = ratelimit.NewMetrics(rig.promReg, serverName); err != nil {
		t.Fatal(err)
	}
	rules := &ratelimit.Rules{Default: ratelimit.PerHour(1000, 1000), Endpoints: map[string]ratelimit.Limit{topic: limit}}
	wrapper, err := NewSubscriberWrapper(SubscriberOptions{
		Service: serverName,
		Store:   store,
		Rules:   func() *ratelimit.Rules { return rules },
		MaxWait: maxWait,
		Clock:   rig.clock,
		Metrics: rig.metrics,
	})
	if err != nil {
		t.Fatal(err)
	}
	rig.handle = wrapper(func(_ context.Context, msg server.Message) error {
		rig.mu.Lock()
		defer rig.mu.Unlock()
		rig.handled = append(rig.handled, msg.Payload().(int))
		return nil
	})
	return rig
}

func (rig *subscriberRig) handledIDs() []int {
	rig.mu.Lock()
	defer rig.mu.Unlock()
	ids := slices.Clone(rig.handled)
	slices.Sort(ids)
	return ids
}

// deliver hands each message to the wrapped subscriber in its own
// goroutine, as a broker with concurrent deliveries does, and returns a
// channel that receives each delivery's error.
func (rig *subscriberRig) deliver(ctx context.Context, ids ...int) <-chan error {
	errs := make(chan error, len(ids))
	for _, id := range ids {
		go func() { errs <- rig.handle(ctx, fakeMessage{id: id}) }()
	}
	return errs
}

func (rig *subscriberRig) waitHandled(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for len(rig.handledIDs()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("handled %v, want %d messages", rig.handledIDs(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func (rig *subscriberRig) counter(t *testing.T, name string) float64 {
	t.Helper()
	families, err := rig.promReg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name {
			return f.GetMetric()[0].GetCounter().GetValue()
		}
	}
	return 0
}

func TestSubscriberDelaysWithoutLoss(t *testing.T) {
	rig := newSubscriberRig(t, ratelimit.PerSecond(1, 1), 5*time.Second, nil)
	errs := rig.deliver(context.Background(), 1, 2, 3)

	rig.waitHandled(t, 1)
	if !rig.clock.WaitForTimers(2, 5*time.Second) {
		t.Fatalf("want two messages waiting, %d timers pending", rig.clock.Pending())
	}
	if got := len(rig.handledIDs()); got != 1 {
		t.Fatalf("%d messages handled before any budget returned, want 1", got)
	}
	rig.clock.Advance(time.Second)
	rig.waitHandled(t, 2)
	if got := len(rig.handledIDs()); got != 2 {
		t.Fatalf("%d messages handled after one interval, want 2", got)
	}
	rig.clock.Advance(time.Second)
	rig.waitHandled(t, 3)

	for range 3 {
		if err := <-errs; err != nil {
			t.Fatalf("delivery returned %v, want nil", err)
		}
	}
	if got := rig.handledIDs(); !slices.Equal(got, []int{1, 2, 3}) {
		t.Fatalf("handled %v, want every message once", got)
	}
	if got := rig.counter(t, "bulwark_ratelimit_delayed_total"); got != 2 {
		t.Fatalf("delayed = %v, want 2", got)
	}
	if got := rig.counter(t, "bulwark_ratelimit_overdue_total"); got != 0 {
		t.Fatalf("overdue = %v, want 0", got)
	}
}

// TestSubscriberOverdueAfterMaxWait sends three messages where the third
// would need two seconds and MaxWait is 1.5s: it is handled after 1.5s over
// the limit, and counted, rather than dropped.
func TestSubscriberOverdueAfterMaxWait(t *testing.T) {
	rig := newSubscriberRig(t, ratelimit.PerSecond(1, 1), 1500*time.Millisecond, nil)
	errs := rig.deliver(context.Background(), 1, 2, 3)

	rig.waitHandled(t, 1)
	if !rig.clock.WaitForTimers(2, 5*time.Second) {
		t.Fatalf("want two messages waiting, %d timers pending", rig.clock.Pending())
	}
	rig.clock.Advance(time.Second)
	rig.waitHandled(t, 2)
	rig.clock.Advance(500 * time.Millisecond)
	rig.waitHandled(t, 3)
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatalf("delivery returned %v, want nil", err)
		}
	}
	if got := rig.counter(t, "bulwark_ratelimit_overdue_total"); got != 1 {
		t.Fatalf("overdue = %v, want 1", got)
	}
}

func TestSubscriberContextEndsWait(t *testing.T) {
	rig := newSubscriberRig(t, ratelimit.PerHour(1, 1), time.Hour, nil)
	if err := rig.handle(context.Background(), fakeMessage{id: 1}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errs := rig.deliver(ctx, 2)
	if !rig.clock.WaitForTimers(1, 5*time.Second) {
		t.Fatal("second message is not waiting")
	}
	cancel()
	if err := <-errs; err != nil {
		t.Fatalf("delivery returned %v, want nil", err)
	}
	if got := rig.handledIDs(); !slices.Equal(got, []int{1, 2}) {
		t.Fatalf("handled %v, want both messages", got)
	}
}

func TestSubscriberStoreFailureHandlesMessage(t *testing.T) {
	rig := newSubscriberRig(t, ratelimit.PerSecond(1, 1), time.Second, failingStore{})
	if err := rig.handle(context.Background(), fakeMessage{id: 7}); err != nil {
		t.Fatal(err)
	}
	if got := rig.handledIDs(); !slices.Equal(got, []int{7}) {
		t.Fatalf("handled %v, want the message despite the store failure", got)
	}
}

// TestSubscriberOnServerDeliversAll publishes through a go-micro server
// whose subscriber wrapper must delay most messages.
func TestSubscriberOnServerDeliversAll(t *testing.T) {
	fake := clock.NewFake(testEpoch)
	store, err := ratelimit.NewMemory[ratelimit.Key](ratelimit.MemoryOptions{Clock: fake})
	if err != nil {
		t.Fatal(err)
	}
	rules := &ratelimit.Rules{Default: ratelimit.PerSecond(1, 1)}
	wrapper, err := NewSubscriberWrapper(SubscriberOptions{
		Service: serverName, Store: store, Rules: func() *ratelimit.Rules { return rules }, Clock: fake, MaxWait: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []int
	ts := startServer(t, serverConfig{
		rules:   &ratelimit.Rules{Default: ratelimit.PerSecond(1, 1)},
		options: []server.Option{server.WrapSubscriber(wrapper)},
		topic:   topic,
		subscriber: func(_ context.Context, ev *OrderCreated) error {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, ev.ID)
			return nil
		},
	})
	c := ts.serviceClient(t, "gateway")

	const messages = 5
	published := make(chan error, messages)
	go func() {
		for id := range messages {
			msg := c.NewMessage(topic, &OrderCreated{ID: id}, client.WithMessageContentType("application/json"))
			published <- c.Publish(context.Background(), msg)
		}
	}()
	for range messages {
		// The memory broker delivers synchronously, so each publish waits
		// for its message's turn: advance the clock until it returns.
		var perr error
		for done := false; !done; {
			select {
			case perr = <-published:
				done = true
			case <-time.After(time.Millisecond):
				fake.Advance(100 * time.Millisecond)
			}
		}
		if perr != nil {
			t.Fatalf("Publish: %v", perr)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(got, []int{0, 1, 2, 3, 4}) {
		t.Fatalf("subscriber received %v, want every message in order", got)
	}
}

func TestNewSubscriberWrapperOptions(t *testing.T) {
	store, err := ratelimit.NewMemory[ratelimit.Key](ratelimit.MemoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rules := func() *ratelimit.Rules { return &ratelimit.Rules{Default: ratelimit.PerSecond(1, 1)} }
	tests := []struct {
		desc    string
		opts    SubscriberOptions
		wantErr string
	}{
		{desc: "no service", opts: SubscriberOptions{Store: store, Rules: rules}, wantErr: "Service is empty"},
		{desc: "no store", opts: SubscriberOptions{Service: "orders", Rules: rules}, wantErr: "Store is nil"},
		{desc: "no rules", opts: SubscriberOptions{Service: "orders", Store: store}, wantErr: "Rules is nil"},
		{desc: "negative wait", opts: SubscriberOptions{Service: "orders", Store: store, Rules: rules, MaxWait: -time.Second},
			wantErr: "MaxWait -1s is negative"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			_, err := NewSubscriberWrapper(tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("NewSubscriberWrapper = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}
