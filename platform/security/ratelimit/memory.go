package ratelimit

import (
	"context"
	"fmt"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of MemoryOptions.
const (
	DefaultMaxKeys       = 1 << 20
	DefaultSweepInterval = time.Minute
)

// deadTAT marks an entry that a sweep removed from its shard. A request that
// loaded the entry before the sweep reads this mark and looks the key up again, so
// no admission is ever recorded on a removed entry.
const deadTAT = -1

// maxShards bounds the number of shards. minKeysPerShard keeps small
// MaxKeys caps exact by using fewer shards.
const (
	maxShards       = 64
	minKeysPerShard = 256
)

// MemoryOptions configures a Memory store. The zero value takes the
// defaults.
type MemoryOptions struct {
	// MaxKeys caps the number of keys tracked at once. Keys that arrive
	// while the cap is reached and no idle key can be swept share one
	// overflow budget until room frees up, so memory stays bounded and a
	// flood of new keys cannot reset anyone's budget. Zero means
	// DefaultMaxKeys.
	MaxKeys int
	// SweepInterval is the interval at which a shard removes its idle keys, checked
	// when a new key arrives. A key is idle once its whole burst is back,
	// so removing it changes no decision. Zero means DefaultSweepInterval.
	SweepInterval time.Duration
	// Clock is the source of time, and nil means the machine's clock.
	Clock Clock
}

// Memory is an in-process keyed limiter implementing the generic cell rate
// algorithm (GCRA). Each key stores one int64, its theoretical arrival time
// (TAT), updated with compare-and-swap, so concurrent requests on one key
// never admit more than Rate per Per plus Burst. Keys may be of any
// comparable type. Memory[Key] implements Store.
type Memory[K comparable] struct {
	seed          maphash.Seed
	shards        []shard[K]
	mask          uint64
	keysPerShard  int
	sweepInterval int64
	clock         Clock
	epoch         time.Time

	// testHash, when set by a test, replaces maphash so that tests can
	// make keys collide.
	testHash func(K) uint64

	overflow  entry[K]
	keys      atomic.Int64
	overflows atomic.Uint64
	evictions atomic.Uint64
}

// entry is the state of one key. Entries whose keys have the same 64-bit
// hash form a list through next.
type entry[K comparable] struct {
	tat  atomic.Int64
	key  K
	next *entry[K] // guarded by the shard's lock
}

// testHookAfterLookup, when set by a test, runs between a request's entry
// lookup and its compare-and-swap: the window in which a sweep may remove
// the entry.
var testHookAfterLookup func()

// shard maps key hashes to entries. Keying the map by the hash that also
// picks the shard means each key is hashed once per request.
type shard[K comparable] struct {
	mu        sync.RWMutex
	entries   map[uint64]*entry[K]
	count     int // keys in the shard, while len(entries) counts hashes
	lastSweep int64
	_         [80]byte // keeps each shard's lock on its own cache lines
}

// NewMemory returns an empty Memory store.
func NewMemory[K comparable](opts MemoryOptions) (*Memory[K], error) {
	if opts.MaxKeys < 0 {
		return nil, fmt.Errorf("ratelimit: MaxKeys %d is negative; use 0 for the default of %d", opts.MaxKeys, DefaultMaxKeys)
	}
	if opts.SweepInterval < 0 {
		return nil, fmt.Errorf("ratelimit: SweepInterval %s is negative; use 0 for the default of %s",
			opts.SweepInterval, DefaultSweepInterval)
	}
	if opts.MaxKeys == 0 {
		opts.MaxKeys = DefaultMaxKeys
	}
	if opts.SweepInterval == 0 {
		opts.SweepInterval = DefaultSweepInterval
	}
	n := 1
	for n < maxShards && opts.MaxKeys/(2*n) >= minKeysPerShard {
		n *= 2
	}
	m := &Memory[K]{
		seed:          maphash.MakeSeed(),
		shards:        make([]shard[K], n),
		mask:          uint64(n - 1),
		keysPerShard:  opts.MaxKeys / n,
		sweepInterval: int64(opts.SweepInterval),
		clock:         opts.Clock,
	}
	for i := range m.shards {
		m.shards[i].entries = make(map[uint64]*entry[K])
	}
	if m.clock == nil {
		m.epoch = time.Now()
	} else {
		m.epoch = m.clock.Now()
	}
	return m, nil
}

// Allow spends one request of key's budget if the request may proceed now.
// An invalid limit rejects every request with a RetryAfter of one second, so
// validate limits when loading them.
func (m *Memory[K]) Allow(key K, limit Limit) Result {
	return m.Reserve(key, limit, 0)
}

// Reserve is Allow that also admits a request that may proceed within
// maxWait, reserving its place. Result.Delay is the wait the caller must
// observe before acting.
func (m *Memory[K]) Reserve(key K, limit Limit, maxWait time.Duration) Result {
	if !limit.usable() {
		return Result{Limit: limit, RetryAfter: time.Second}
	}
	interval := int64(limit.Interval())
	window := int64(limit.Burst) * interval
	d := decision{limit: limit, interval: interval, window: window}
	budget := int64(max(maxWait, 0))

	for {
		e := m.entry(key)
		if testHookAfterLookup != nil {
			testHookAfterLookup()
		}
		for {
			old := e.tat.Load()
			if old == deadTAT {
				break // swept since the lookup: look the key up again
			}

			// The clock is read after the load, so a late reading
			// widens the window in which another request may change
			// the key. The compare-and-swap then fails and the
			// decision is made again on the new state.
			now := m.now()
			tat := max(old, now)
			next := tat + interval
			wait := next - window - now

			if wait > budget {
				return d.result(false, wait, old-now)
			}
			if e.tat.CompareAndSwap(old, next) {
				return d.result(true, wait, next-now)
			}
		}
	}
}

// Take implements Store. It returns an error for an invalid limit.
func (m *Memory[K]) Take(_ context.Context, key K, limit Limit, maxWait time.Duration) (Result, error) {
	if err := limit.Validate(); err != nil {
		return Result{}, err
	}
	return m.Reserve(key, limit, maxWait), nil
}

// usable is the part of Validate that Reserve needs to compute safely. It
// runs on every request, so it formats nothing.
func (l Limit) usable() bool {
	return l.Rate >= 1 && l.Burst >= 1 && l.Burst <= MaxBurst &&
		l.Per >= MinPeriod && l.Per <= MaxPeriod && int64(l.Rate) <= int64(l.Per)
}

// now returns nanoseconds since the store was created, plus one so that it
// is always above deadTAT and above the zero TAT of a new key. On the
// machine's clock time.Since reads only the monotonic clock.
func (m *Memory[K]) now() int64 {
	if m.clock == nil {
		return int64(time.Since(m.epoch)) + 1
	}
	return int64(m.clock.Now().Sub(m.epoch)) + 1
}

// entry returns key's entry, creating it when absent.
func (m *Memory[K]) entry(key K) *entry[K] {
	var hash uint64
	if m.testHash == nil {
		hash = maphash.Comparable(m.seed, key)
	} else {
		hash = m.testHash(key)
	}
	s := &m.shards[hash&m.mask]
	s.mu.RLock()
	e := s.entries[hash]
	for e != nil && e.key != key {
		e = e.next
	}
	s.mu.RUnlock()
	if e != nil {
		return e
	}
	return m.insert(s, hash, key)
}
