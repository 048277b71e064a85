package ratelimit

import (
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"

	"golang.org/x/time/rate"
)

// benchLimit admits every request of the benchmarks, which then measure
// the allow path: lookup, clock, compare-and-swap and Result.
var benchLimit = Limit{Rate: 1_000_000_000, Per: 1e9, Burst: MaxBurst}

func benchKeys(n int) []Key {
	keys := make([]Key, n)
	for i := range keys {
		keys[i] = Key{Scope: "Orders.Create", Subject: "client-" + strconv.Itoa(i)}
	}
	return keys
}

func newBenchMemory(b *testing.B, keys []Key) *Memory[Key] {
	b.Helper()
	m, err := NewMemory[Key](MemoryOptions{MaxKeys: max(len(keys), DefaultMaxKeys)})
	if err != nil {
		b.Fatal(err)
	}
	for _, k := range keys {
		m.Allow(k, benchLimit)
	}
	return m
}

var benchSink atomic.Bool

func BenchmarkMemoryAllow(b *testing.B) {
	for _, n := range []int{1, 10_000, 1_000_000} {
		keys := benchKeys(n)
		m := newBenchMemory(b, keys)
		b.Run("keys="+strconv.Itoa(n)+"/serial", func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				r := m.Allow(keys[i], benchLimit)
				if !r.Allowed {
					b.Fatal("rejected")
				}
				i++
				if i == n {
					i = 0
				}
			}
		})
		b.Run("keys="+strconv.Itoa(n)+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			var offset atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				i := int(offset.Add(7919)) % n
				allowed := true
				for pb.Next() {
					allowed = allowed && m.Allow(keys[i], benchLimit).Allowed
					i++
					if i == n {
						i = 0
					}
				}
				benchSink.Store(allowed)
			})
		})
	}
}

// BenchmarkXTimeRateAllow is the baseline: one golang.org/x/time/rate
// Limiter, no key lookup.
func BenchmarkXTimeRateAllow(b *testing.B) {
	lim := rate.NewLimiter(rate.Limit(1e9), MaxBurst)
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !lim.Allow() {
				b.Fatal("rejected")
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				lim.Allow()
			}
		})
	})
}

// BenchmarkMemoryBytesPerKey reports the heap a Memory store uses per
// tracked Key: map slot and entry. The key strings themselves belong to the
// caller and are allocated before the measurement.
func BenchmarkMemoryBytesPerKey(b *testing.B) {
	const n = 1_000_000
	keys := benchKeys(n)
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		m, err := NewMemory[Key](MemoryOptions{MaxKeys: n})
		if err != nil {
			b.Fatal(err)
		}
		for _, k := range keys {
			m.Allow(k, benchLimit)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "B/key")
		runtime.KeepAlive(m)
	}
}
