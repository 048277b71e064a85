package ratelimit

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/platform/security/internal/clock"
)

var testEpoch = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func newFakeMemory[K comparable](t *testing.T, opts MemoryOptions) (*Memory[K], *clock.Fake) {
	t.Helper()
	fake := clock.NewFake(testEpoch)
	opts.Clock = fake
	m, err := NewMemory[K](opts)
	if err != nil {
		t.Fatal(err)
	}
	return m, fake
}

func TestMemoryRejectsKeyPastBudget(t *testing.T) {
	m, fake := newFakeMemory[string](t, MemoryOptions{})
	limit := PerSecond(2, 3) // interval 500ms, burst 3

	for i := range 3 {
		r := m.Allow("alice", limit)
		if !r.Allowed {
			t.Fatalf("request %d of the burst was rejected: %+v", i+1, r)
		}
		if r.Remaining != 2-i {
			t.Fatalf("request %d: Remaining = %d, want %d", i+1, r.Remaining, 2-i)
		}
	}
	rejected := m.Allow("alice", limit)
	if rejected.Allowed {
		t.Fatalf("request past the burst was allowed: %+v", rejected)
	}
	if rejected.RetryAfter != 500*time.Millisecond {
		t.Fatalf("RetryAfter = %s, want 500ms", rejected.RetryAfter)
	}
	if rejected.ResetAfter != 1500*time.Millisecond {
		t.Fatalf("ResetAfter = %s, want 1.5s", rejected.ResetAfter)
	}
	if other := m.Allow("bob", limit); !other.Allowed {
		t.Fatalf("another key was rejected: %+v", other)
	}

	fake.Advance(rejected.RetryAfter - time.Nanosecond)
	if early := m.Allow("alice", limit); early.Allowed {
		t.Fatalf("request 1ns before RetryAfter was allowed: %+v", early)
	} else if early.RetryAfter != time.Nanosecond {
		t.Fatalf("RetryAfter 1ns early = %s, want 1ns", early.RetryAfter)
	}
	fake.Advance(time.Nanosecond)
	if again := m.Allow("alice", limit); !again.Allowed {
		t.Fatalf("request after RetryAfter was rejected: %+v", again)
	}
	if after := m.Allow("alice", limit); after.Allowed {
		t.Fatalf("second request after RetryAfter was allowed: %+v", after)
	}
}

func TestMemoryRejectionSpendsNothing(t *testing.T) {
	m, fake := newFakeMemory[string](t, MemoryOptions{})
	limit := PerSecond(1, 1)
	m.Allow("k", limit)
	for range 100 {
		m.Allow("k", limit)
	}
	fake.Advance(time.Second)
	if r := m.Allow("k", limit); !r.Allowed {
		t.Fatalf("rejections spent budget: %+v", r)
	}
}

func TestMemoryRefillsToBurstOnly(t *testing.T) {
	m, fake := newFakeMemory[int](t, MemoryOptions{})
	limit := PerSecond(10, 2)
	fake.Advance(time.Hour)
	admitted := 0
	for range 10 {
		if m.Allow(1, limit).Allowed {
			admitted++
		}
	}
	if admitted != 2 {
		t.Fatalf("after an idle hour %d requests passed, want the burst of 2", admitted)
	}
}

func TestMemoryReserveWaitsWithinMaxWait(t *testing.T) {
	m, _ := newFakeMemory[string](t, MemoryOptions{})
	limit := PerSecond(10, 1) // interval 100ms
	tests := []struct {
		desc      string
		maxWait   time.Duration
		wantOK    bool
		wantDelay time.Duration
		wantRetry time.Duration
	}{
		{desc: "first passes at once", maxWait: time.Second, wantOK: true, wantDelay: 0, wantRetry: 100 * time.Millisecond},
		{desc: "second waits one interval", maxWait: time.Second, wantOK: true, wantDelay: 100 * time.Millisecond, wantRetry: 200 * time.Millisecond},
		{desc: "third waits two", maxWait: time.Second, wantOK: true, wantDelay: 200 * time.Millisecond, wantRetry: 300 * time.Millisecond},
		{desc: "fourth exceeds max wait", maxWait: 250 * time.Millisecond, wantOK: false, wantRetry: 300 * time.Millisecond},
		{desc: "plain allow rejected", maxWait: 0, wantOK: false, wantRetry: 300 * time.Millisecond},
	}
	for _, tt := range tests {
		r := m.Reserve("k", limit, tt.maxWait)
		if r.Allowed != tt.wantOK {
			t.Fatalf("%s: Allowed = %v, want %v (%+v)", tt.desc, r.Allowed, tt.wantOK, r)
		}
		if r.Delay != tt.wantDelay {
			t.Fatalf("%s: Delay = %s, want %s", tt.desc, r.Delay, tt.wantDelay)
		}
		if r.RetryAfter != tt.wantRetry {
			t.Fatalf("%s: RetryAfter = %s, want %s", tt.desc, r.RetryAfter, tt.wantRetry)
		}
	}
}

func TestMemoryInvalidLimit(t *testing.T) {
	m, _ := newFakeMemory[string](t, MemoryOptions{})
	if r := m.Allow("k", Limit{}); r.Allowed || r.RetryAfter != time.Second {
		t.Fatalf("Allow with the zero limit = %+v, want a rejection with RetryAfter 1s", r)
	}
	if _, err := m.Take(context.Background(), "k", PerSecond(1, 0), 0); err == nil || !strings.Contains(err.Error(), "burst 0") {
		t.Fatalf("Take with burst 0 = %v, want an error naming the burst", err)
	}
}

func TestNewMemoryRejectsBadOptions(t *testing.T) {
	if _, err := NewMemory[string](MemoryOptions{MaxKeys: -1}); err == nil || !strings.Contains(err.Error(), "MaxKeys -1") {
		t.Fatalf("NewMemory(MaxKeys -1) = %v, want an error naming MaxKeys", err)
	}
	if _, err := NewMemory[string](MemoryOptions{SweepInterval: -time.Second}); err == nil || !strings.Contains(err.Error(), "SweepInterval -1s") {
		t.Fatalf("NewMemory(SweepInterval -1s) = %v, want an error naming SweepInterval", err)
	}
}

// staleClock returns the machine's time, but every seventh reading reaches
// its caller 50µs late, as when a goroutine is descheduled between reading
// the clock and deciding. Under heavy contention this is common.
type staleClock struct {
	clock.Real
	calls atomic.Int64
}

func (c *staleClock) Now() time.Time {
	now := time.Now()
	if c.calls.Add(1)%7 == 0 {
		time.Sleep(50 * time.Microsecond)
	}
	return now
}

// TestMemoryContentionBound hammers one key from many goroutines and checks
// that no more than Rate × elapsed + Burst requests pass. A limiter that
// lets a late clock reading move its state back in time, as
// golang.org/x/time/rate v0.16.0 does when AllowN gets a time earlier than
// its previous call, credits the same time twice and passes more. GCRA's TAT
// only moves forward, so a late reading only makes a decision stricter.
func TestMemoryContentionBound(t *testing.T) {
	tests := []struct {
		desc  string
		clock Clock
	}{
		{desc: "machine clock"},
		{desc: "late clock readings", clock: &staleClock{}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			m, err := NewMemory[string](MemoryOptions{Clock: tt.clock})
			if err != nil {
				t.Fatal(err)
			}
			limit := PerSecond(2000, 20)
			workers := 64
			duration := 300 * time.Millisecond
			if testing.Short() {
				duration = 50 * time.Millisecond
			}

			var admitted atomic.Int64
			var wg sync.WaitGroup
			start := time.Now()
			stop := start.Add(duration)
			for range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for time.Now().Before(stop) {
						if m.Allow("hot", limit).Allowed {
							admitted.Add(1)
						}
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)

			bound := int64(elapsed/limit.Interval()) + int64(limit.Burst)
			got := admitted.Load()
			t.Logf("admitted %d in %s; bound %d", got, elapsed, bound)
			if got > bound {
				t.Fatalf("admitted %d requests in %s, more than rate × time + burst = %d", got, elapsed, bound)
			}
			if got < int64(limit.Burst) {
				t.Fatalf("admitted %d requests, fewer than the burst %d", got, limit.Burst)
			}
		})
	}
}

// TestMemorySweepRaceAdmitsOnce runs sweeps while many goroutines spend the
// one request that each new key has in an hour. A sweep that deleted an
// entry some request still held would let that request spend on a detached
// entry while another request spent on the new one.
func TestMemorySweepRaceAdmitsOnce(t *testing.T) {
	m, err := NewMemory[int](MemoryOptions{SweepInterval: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	limit := PerHour(1, 1)
	const keys = 2000
	workers := 8
	admitted := make([]atomic.Int32, keys)

	done := make(chan struct{})
	var sweeps sync.WaitGroup
	sweeps.Add(1)
	go func() {
		defer sweeps.Done()
		for {
			select {
			case <-done:
				return
			default:
				m.Sweep()
			}
		}
	}()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range keys {
				k := (i + w*keys/workers) % keys
				if m.Allow(k, limit).Allowed {
					admitted[k].Add(1)
				}
			}
		}()
	}
	wg.Wait()
	close(done)
	sweeps.Wait()

	for k := range admitted {
		if n := admitted[k].Load(); n != 1 {
			t.Fatalf("key %d admitted %d requests, want exactly 1 per hour", k, n)
		}
	}
}

// TestMemorySweepBetweenLookupAndSpend removes a key's entry after a request
// looked it up and before it spends. The request must not spend on the
// removed entry, or a second request would get a fresh budget.
func TestMemorySweepBetweenLookupAndSpend(t *testing.T) {
	m, _ := newFakeMemory[string](t, MemoryOptions{})
	limit := PerHour(1, 1)
	swept := 0
	testHookAfterLookup = func() {
		if swept == 0 {
			swept = m.Sweep()
		}
	}
	defer func() { testHookAfterLookup = nil }()

	if !m.Allow("k", limit).Allowed {
		t.Fatal("first request rejected")
	}
	if swept != 1 {
		t.Fatalf("the hook swept %d keys, want the new key", swept)
	}
	if r := m.Allow("k", limit); r.Allowed {
		t.Fatalf("second request in the hour allowed after a sweep raced the first: %+v", r)
	}
}

func TestMemorySweepRemovesOnlyIdleKeys(t *testing.T) {
	m, fake := newFakeMemory[string](t, MemoryOptions{})
	limit := PerSecond(1, 2) // window 2s
	m.Allow("busy", limit)
	m.Allow("busy", limit)
	m.Allow("quiet", limit)
	fake.Advance(1500 * time.Millisecond) // quiet is full again, busy is not

	if removed := m.Sweep(); removed != 1 {
		t.Fatalf("Sweep removed %d keys, want 1", removed)
	}
	if m.Len() != 1 {
		t.Fatalf("Len = %d after the sweep, want 1", m.Len())
	}
	// busy kept its state: 1.5s after spending 2s of budget it has one
	// request back and no more.
	if !m.Allow("busy", limit).Allowed {
		t.Fatal("busy lost the request it regained")
	}
	if m.Allow("busy", limit).Allowed {
		t.Fatal("busy was forgiven its spent budget by the sweep")
	}
	stats := m.Stats()
	if stats.Evictions != 1 || stats.Keys != 1 {
		t.Fatalf("Stats = %+v, want 1 eviction and 1 key", stats)
	}
}

func TestMemorySweepsOnInsert(t *testing.T) {
	// 256 keys fit in one shard, so the insert below sweeps every key.
	m, fake := newFakeMemory[int](t, MemoryOptions{MaxKeys: 256, SweepInterval: time.Minute})
	limit := PerSecond(100, 1)
	for k := range 100 {
		m.Allow(k, limit)
	}
	fake.Advance(time.Minute)
	m.Allow(1000, limit)
	if m.Len() != 1 {
		t.Fatalf("Len = %d after the interval passed, want only the new key", m.Len())
	}
}

func TestMemoryOverflowSharesBudget(t *testing.T) {
	m, fake := newFakeMemory[int](t, MemoryOptions{MaxKeys: 10})
	limit := PerMinute(1, 1)
	for k := range 10 {
		if !m.Allow(k, limit).Allowed {
			t.Fatalf("key %d rejected before the cap", k)
		}
	}
	// The store is full and no key is idle: new keys share the overflow
	// budget, so a flood of fresh keys gets one request, not one each.
	if !m.Allow(100, limit).Allowed {
		t.Fatal("first overflow request rejected")
	}
	if m.Allow(101, limit).Allowed {
		t.Fatal("second new key past the cap got a budget of its own")
	}
	if m.Len() != 10 {
		t.Fatalf("Len = %d, want the cap of 10", m.Len())
	}
	if got := m.Stats().Overflows; got != 2 {
		t.Fatalf("Overflows = %d, want 2", got)
	}
	// Tracked keys keep their own state.
	if m.Allow(3, limit).Allowed {
		t.Fatal("tracked key 3 was allowed past its budget")
	}
	// Once keys go idle, a full shard sweeps and new keys get their own.
	fake.Advance(time.Minute)
	if !m.Allow(200, limit).Allowed || m.Len() != 1 {
		t.Fatalf("after the keys went idle: Len = %d, want 1 new key", m.Len())
	}
}

func TestMemoryHashCollisions(t *testing.T) {
	m, fake := newFakeMemory[int](t, MemoryOptions{})
	m.testHash = func(int) uint64 { return 42 } // every key collides
	limit := PerSecond(1, 1)
	for k := range 5 {
		if !m.Allow(k, limit).Allowed {
			t.Fatalf("key %d rejected: colliding keys share a budget", k)
		}
	}
	for k := range 5 {
		if m.Allow(k, limit).Allowed {
			t.Fatalf("key %d allowed twice in a second", k)
		}
	}
	if m.Len() != 5 {
		t.Fatalf("Len = %d, want 5", m.Len())
	}
	fake.Advance(500 * time.Millisecond)
	m.Allow(10, limit) // not idle after the sweep below
	fake.Advance(600 * time.Millisecond)
	if removed := m.Sweep(); removed != 5 {
		t.Fatalf("Sweep removed %d colliding keys, want the 5 idle ones", removed)
	}
	if r := m.Allow(10, limit); r.Allowed {
		t.Fatalf("key 10 lost its state in a sweep of its hash list: %+v", r)
	}
	if !m.Allow(3, limit).Allowed {
		t.Fatal("swept key 3 rejected")
	}
}

func TestMemoryStructKeys(t *testing.T) {
	m, _ := newFakeMemory[Key](t, MemoryOptions{})
	limit := PerSecond(1, 1)
	a := Key{Scope: "Orders.Create", Subject: "gateway"}
	b := Key{Scope: "Orders.Create", Subject: "users"}
	if !m.Allow(a, limit).Allowed || m.Allow(a, limit).Allowed {
		t.Fatal("key a: want one request allowed, then rejected")
	}
	if !m.Allow(b, limit).Allowed {
		t.Fatal("key b shares key a's budget")
	}
	var store Store = m
	if r, err := store.Take(context.Background(), a, limit, 0); err != nil || r.Allowed {
		t.Fatalf("Take(a) = %+v, %v; want a rejection", r, err)
	}
}
