package registry

import (
	"context"
	"errors"
	"testing"
	"time"

	microregistry "go-micro.dev/v4/registry"
	"go-micro.dev/v4/registry/cache"
)

// nextResult calls w.Next with a bound, so a missing result fails the test
// instead of hanging it.
func nextResult(t *testing.T, w microregistry.Watcher) *microregistry.Result {
	t.Helper()
	type out struct {
		res *microregistry.Result
		err error
	}
	ch := make(chan out, 1)
	go func() {
		res, err := w.Next()
		ch <- out{res, err}
	}()
	select {
	case o := <-ch:
		if o.err != nil {
			t.Fatalf("Next: %v", o.err)
		}
		return o.res
	case <-time.After(5 * time.Second):
		t.Fatal("Next returned nothing within 5s")
		return nil
	}
}

// watchersOf returns the fake watchers created so far.
func (c *fakeConsul) watchersOf() []*fakeWatcher {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*fakeWatcher(nil), c.watchers...)
}

// waitWatchers waits until n fake watchers exist and returns the last one.
func (c *fakeConsul) waitWatchers(t *testing.T, n int) *fakeWatcher {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if ws := c.watchersOf(); len(ws) >= n {
			return ws[n-1]
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("fewer than %d inner watchers after 5s", n)
	return nil
}

func TestWatcherSurvivesTokenSwitch(t *testing.T) {
	h := newRegistryHarness(t, "orders")
	w, err := h.reg.Watch(microregistry.WatchService("users"))
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	defer w.Stop()

	first := h.consul.waitWatchers(t, 1)
	first.ch <- &microregistry.Result{Action: "create", Service: testService("users", "users-1")}
	if res := nextResult(t, w); res.Action != "create" || res.Service.Nodes[0].Id != "users-1" {
		t.Fatalf("first result = %s %v, want create users-1", res.Action, res.Service)
	}

	second := h.newToken(t)
	if err := h.reg.switchToken(context.Background(), second); err != nil {
		t.Fatal(err)
	}
	flush := nextResult(t, w)
	if flush.Action != "delete" || flush.Service.Name != "users" || len(flush.Service.Nodes) != 0 {
		t.Fatalf("result after the switch = %s %+v, want a delete of users without nodes", flush.Action,
			flush.Service)
	}
	if !first.stopped() {
		t.Error("the watcher of the old client is still running")
	}

	next := h.consul.waitWatchers(t, 2)
	if next.client.secret != second.SecretID() {
		t.Fatal("the new inner watcher does not use the new token")
	}
	next.ch <- &microregistry.Result{Action: "update", Service: testService("users", "users-2")}
	if res := nextResult(t, w); res.Service.Nodes[0].Id != "users-2" {
		t.Fatalf("result from the new client = %+v, want users-2", res.Service)
	}
}

// TestCacheDropsNodeThatLeftDuringSwitch shows why the watcher sends a
// delete after a switch. go-micro's cache merges the nodes of a "create" into
// its cached nodes. Without the delete, a node that left while the watcher
// changed clients would stay in the cache.
func TestCacheDropsNodeThatLeftDuringSwitch(t *testing.T) {
	h := newRegistryHarness(t, "orders")
	h.consul.mu.Lock()
	h.consul.nodes["users-1"] = fakeNode{service: "users", address: "127.0.0.1:9001"}
	h.consul.nodes["users-2"] = fakeNode{service: "users", address: "127.0.0.1:9002"}
	h.consul.mu.Unlock()

	c := cache.New(h.reg, cache.WithTTL(time.Hour))
	defer c.Stop()
	services, err := c.GetService("users")
	if err != nil || len(services) != 1 || len(services[0].Nodes) != 2 {
		t.Fatalf("GetService through the cache = %v, %v; want two nodes", services, err)
	}
	h.consul.waitWatchers(t, 1)

	// users-2 leaves while the registry changes clients.
	h.consul.mu.Lock()
	delete(h.consul.nodes, "users-2")
	h.consul.mu.Unlock()
	if err := h.reg.switchToken(context.Background(), h.newToken(t)); err != nil {
		t.Fatal(err)
	}
	next := h.consul.waitWatchers(t, 2)
	next.ch <- &microregistry.Result{Action: "create", Service: testService("users", "users-1")}

	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		services, err = c.GetService("users")
		if err == nil && len(services) == 1 && len(services[0].Nodes) == 1 {
			if id := services[0].Nodes[0].Id; id != "users-1" {
				t.Fatalf("cache holds node %s, want users-1", id)
			}
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("cache still returns %v, %v; want only users-1", services, err)
}

func TestWatchNeedsService(t *testing.T) {
	h := newRegistryHarness(t, "orders")
	if _, err := h.reg.Watch(); err == nil {
		t.Fatal("Watch without a service name succeeded")
	}
}

func TestWatcherStops(t *testing.T) {
	tests := []struct {
		desc string
		stop func(h *registryHarness, w microregistry.Watcher)
	}{
		{desc: "watcher stopped", stop: func(_ *registryHarness, w microregistry.Watcher) { w.Stop(); w.Stop() }},
		{desc: "registry closed", stop: func(h *registryHarness, _ microregistry.Watcher) { _ = h.reg.Close() }},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			h := newRegistryHarness(t, "orders")
			w, err := h.reg.Watch(microregistry.WatchService("users"))
			if err != nil {
				t.Fatal(err)
			}
			inner := h.consul.waitWatchers(t, 1)
			tt.stop(h, w)
			if _, err := w.Next(); !errors.Is(err, microregistry.ErrWatcherStopped) {
				t.Errorf("Next after stop = %v, want ErrWatcherStopped", err)
			}
			deadline := time.Now().Add(5 * time.Second)
			for !inner.stopped() && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			if !inner.stopped() {
				t.Error("the inner watcher is still running")
			}
		})
	}
}

func TestWatchAfterClose(t *testing.T) {
	h := newRegistryHarness(t, "orders")
	_ = h.reg.Close()
	if _, err := h.reg.Watch(microregistry.WatchService("users")); !errors.Is(err, microregistry.ErrWatcherStopped) {
		t.Errorf("Watch after Close = %v, want ErrWatcherStopped", err)
	}
}
