package ratelimit

import "time"

// fullSweepGap is the shortest time between two sweeps that a full shard
// runs on its own. It bounds the work a flood of new keys can cause: without
// it, every new key would scan a full shard.
const fullSweepGap = int64(time.Second)

// MemoryStats counts what a Memory store holds and has done.
type MemoryStats struct {
	// Keys is the number of keys tracked now.
	Keys int
	// Overflows counts requests of new keys that arrived while the store
	// was full and were decided on the shared overflow budget.
	Overflows uint64
	// Evictions counts idle keys removed by sweeps.
	Evictions uint64
}

// Stats returns the store's counters.
func (m *Memory[K]) Stats() MemoryStats {
	return MemoryStats{
		Keys:      int(m.keys.Load()),
		Overflows: m.overflows.Load(),
		Evictions: m.evictions.Load(),
	}
}

// Len returns the number of keys tracked now.
func (m *Memory[K]) Len() int { return int(m.keys.Load()) }

// Sweep removes every idle key now and returns how many it removed. Shards
// also sweep themselves every SweepInterval when a new key arrives, so
// calling Sweep is optional.
func (m *Memory[K]) Sweep() int {
	now := m.now()
	removed := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		removed += m.sweepLocked(s, now)
		s.mu.Unlock()
	}
	return removed
}

// insert adds key to shard s, which it locks. When the shard is full even
// after a sweep, the request is decided on the shared overflow entry.
func (m *Memory[K]) insert(s *shard[K], hash uint64, key K) *entry[K] {
	s.mu.Lock()
	defer s.mu.Unlock()
	for e := s.entries[hash]; e != nil; e = e.next {
		if e.key == key {
			return e
		}
	}
	now := m.now()
	since := now - s.lastSweep
	full := s.count >= m.keysPerShard
	if since >= m.sweepInterval || (full && since >= min(fullSweepGap, m.sweepInterval)) {
		m.sweepLocked(s, now)
	}
	if s.count >= m.keysPerShard {
		m.overflows.Add(1)
		return &m.overflow
	}
	// A sweep may have removed entries of this hash, so read the list
	// head again.
	s.entries[hash] = &entry[K]{key: key, next: s.entries[hash]}
	s.count++
	m.keys.Add(1)
	return s.entries[hash]
}

// sweepLocked removes the idle keys of s, whose lock the caller holds. A
// key is idle when its TAT is not after now: its whole burst is back, so a
// new entry for the key would decide exactly as the old one. The
// compare-and-swap to deadTAT fails if a request spent from the entry after
// the load, and the entry then stays.
func (m *Memory[K]) sweepLocked(s *shard[K], now int64) int {
	removed := 0
	for hash, head := range s.entries {
		var kept *entry[K]
		for e := head; e != nil; {
			next := e.next
			tat := e.tat.Load()
			if tat <= now && e.tat.CompareAndSwap(tat, deadTAT) {
				removed++
			} else {
				e.next = kept
				kept = e
			}
			e = next
		}
		if kept == nil {
			delete(s.entries, hash)
		} else {
			s.entries[hash] = kept
		}
	}
	s.count -= removed
	s.lastSweep = now
	m.keys.Add(-int64(removed))
	m.evictions.Add(uint64(removed))
	return removed
}
