package microwrap

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go-micro.dev/v4/client"
	"go-micro.dev/v4/registry"

	"github.com/bulwark-go/bulwark/platform/security/internal/clock"
	"github.com/bulwark-go/bulwark/platform/security/ratelimit"
)

type fakeRequest struct {
	client.Request
	service, endpoint string
}

func (r fakeRequest) Service() string  { return r.service }
func (r fakeRequest) Endpoint() string { return r.endpoint }

// pacedCall returns a call wrapped by NewCallWrapper on a fake clock, and
// the count of calls that reached the network.
func pacedCall(t *testing.T, rules *ratelimit.Rules, maxWait time.Duration) (client.CallFunc, *clock.Fake, *atomic.Int64) {
	t.Helper()
	fake := clock.NewFake(testEpoch)
	store, err := ratelimit.NewMemory[ratelimit.Key](ratelimit.MemoryOptions{Clock: fake})
	if err != nil {
		t.Fatal(err)
	}
	wrapper, err := NewCallWrapper(ClientOptions{
		Service: "gateway", Store: store, Rules: func() *ratelimit.Rules { return rules }, MaxWait: maxWait, Clock: fake,
	})
	if err != nil {
		t.Fatal(err)
	}
	var sent atomic.Int64
	call := wrapper(func(context.Context, *registry.Node, client.Request, any, client.CallOptions) error {
		sent.Add(1)
		return nil
	})
	return call, fake, &sent
}

func TestCallWrapperPacesCalls(t *testing.T) {
	rules := &ratelimit.Rules{Default: ratelimit.PerSecond(1, 1)}
	call, fake, sent := pacedCall(t, rules, 5*time.Second)
	req := fakeRequest{service: "orders", endpoint: "Orders.Create"}
	ctx := context.Background()

	if err := call(ctx, nil, req, nil, client.CallOptions{}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- call(ctx, nil, req, nil, client.CallOptions{}) }()
	if !fake.WaitForTimers(1, 5*time.Second) {
		t.Fatal("second call is not waiting for budget")
	}
	if sent.Load() != 1 {
		t.Fatalf("%d calls sent before budget returned, want 1", sent.Load())
	}
	fake.Advance(time.Second)
	if err := <-done; err != nil {
		t.Fatalf("paced call: %v", err)
	}
	if sent.Load() != 2 {
		t.Fatalf("%d calls sent, want 2", sent.Load())
	}
	// Another endpoint has its own budget.
	if err := call(ctx, nil, fakeRequest{service: "orders", endpoint: "Orders.Get"}, nil, client.CallOptions{}); err != nil {
		t.Fatalf("call to another endpoint: %v", err)
	}
}

func TestCallWrapperFailsFastPastMaxWait(t *testing.T) {
	rules := &ratelimit.Rules{Default: ratelimit.PerMinute(1, 1)}
	call, _, sent := pacedCall(t, rules, time.Second)
	req := fakeRequest{service: "orders", endpoint: "Orders.Create"}
	if err := call(context.Background(), nil, req, nil, client.CallOptions{}); err != nil {
		t.Fatal(err)
	}
	err := call(context.Background(), nil, req, nil, client.CallOptions{})
	if microCode(err) != http.StatusTooManyRequests {
		t.Fatalf("call needing a minute with MaxWait 1s = %v, want 429", err)
	}
	if d, ok := RetryAfter(err); !ok || d != time.Minute {
		t.Fatalf("RetryAfter = %s, %v; want 1m", d, ok)
	}
	if sent.Load() != 1 {
		t.Fatalf("%d calls sent, want the rejected one kept local", sent.Load())
	}
}

func TestCallWrapperHonoursDeadline(t *testing.T) {
	rules := &ratelimit.Rules{Default: ratelimit.PerSecond(1, 1)}
	call, fake, sent := pacedCall(t, rules, time.Minute)
	req := fakeRequest{service: "orders", endpoint: "Orders.Create"}
	if err := call(context.Background(), nil, req, nil, client.CallOptions{}); err != nil {
		t.Fatal(err)
	}
	// The wait of one second does not fit a deadline 500ms away.
	ctx, cancel := context.WithDeadline(context.Background(), fake.Now().Add(500*time.Millisecond))
	defer cancel()
	if err := call(ctx, nil, req, nil, client.CallOptions{}); microCode(err) != http.StatusTooManyRequests {
		t.Fatalf("call that cannot wait within its deadline = %v, want 429", err)
	}
	if sent.Load() != 1 {
		t.Fatalf("%d calls sent, want 1", sent.Load())
	}
}

func TestCallWrapperContextEndsWait(t *testing.T) {
	rules := &ratelimit.Rules{Default: ratelimit.PerSecond(1, 1)}
	call, fake, sent := pacedCall(t, rules, time.Minute)
	req := fakeRequest{service: "orders", endpoint: "Orders.Create"}
	if err := call(context.Background(), nil, req, nil, client.CallOptions{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- call(ctx, nil, req, nil, client.CallOptions{}) }()
	if !fake.WaitForTimers(1, 5*time.Second) {
		t.Fatal("call is not waiting")
	}
	cancel()
	if err := <-done; microCode(err) != http.StatusRequestTimeout {
		t.Fatalf("call whose context ended while waiting = %v, want 408", err)
	}
	if sent.Load() != 1 {
		t.Fatalf("%d calls sent, want 1", sent.Load())
	}
}

func TestNewCallWrapperOptions(t *testing.T) {
	store, err := ratelimit.NewMemory[ratelimit.Key](ratelimit.MemoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rules := func() *ratelimit.Rules { return &ratelimit.Rules{Default: ratelimit.PerSecond(1, 1)} }
	tests := []struct {
		desc    string
		opts    ClientOptions
		wantErr string
	}{
		{desc: "no service", opts: ClientOptions{Store: store, Rules: rules}, wantErr: "Service is empty"},
		{desc: "no store", opts: ClientOptions{Service: "gateway", Rules: rules}, wantErr: "Store is nil"},
		{desc: "no rules", opts: ClientOptions{Service: "gateway", Store: store}, wantErr: "Rules is nil"},
		{desc: "negative wait", opts: ClientOptions{Service: "gateway", Store: store, Rules: rules, MaxWait: -1},
			wantErr: "MaxWait -1ns is negative"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			_, err := NewCallWrapper(tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("NewCallWrapper = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}
