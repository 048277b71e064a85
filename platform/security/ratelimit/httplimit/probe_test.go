package httplimit

import (
	"context"
	"math/big"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/platform/security/internal/clock"
	"github.com/bulwark-go/bulwark/platform/security/ratelimit"
)

func TestProbeLimitThreshold(t *testing.T) {
	for _, limit := range []ratelimit.Limit{
		ratelimit.PerHour(30, 10),
		ratelimit.PerMinute(5, 5),
		ratelimit.PerSecond(1, 1),
		ratelimit.PerSecond(1000, 1000),
		ratelimit.PerSecond(3, 7), // interval not a whole microsecond
		{Rate: 1, Per: ratelimit.MaxPeriod, Burst: ratelimit.MaxBurst},
	} {
		t.Run(limit.String(), func(t *testing.T) {
			probe := ProbeLimit(limit)
			if err := probe.Validate(); err != nil {
				t.Fatalf("ProbeLimit(%s) = %s: %v", limit, probe, err)
			}
			if probe.Interval()%time.Microsecond != 0 {
				t.Fatalf("probe interval %s is not a whole number of microseconds", probe.Interval())
			}
			// Thresholds in microseconds: the largest limit's is past the
			// range of a time.Duration.
			real := new(big.Int).Mul(big.NewInt(int64(limit.Burst-1)), big.NewInt(int64(limit.Interval())))
			real.Quo(real, big.NewInt(1000)) // floor, like ProbeLimit
			if !real.IsInt64() {
				t.Fatalf("threshold %s µs does not fit an int64", real)
			}
			realMicros := real.Int64()
			probeMicros := int64(probe.Interval() / time.Microsecond)
			got := int64(probe.Burst-1) * probeMicros
			if got > realMicros {
				t.Fatalf("probe threshold %dµs is above the limit's %dµs: the probe would admit past the budget", got, realMicros)
			}
			if slack := probeMicros + int64(limit.Burst); got <= realMicros-slack {
				t.Fatalf("probe threshold %dµs is more than %dµs below the limit's %dµs", got, slack, realMicros)
			}
			if maxMicros := realMicros/(ratelimit.MaxBurst-1) + 1; probeMicros > maxMicros {
				t.Fatalf("probe interval %dµs is above %dµs, a millionth of the threshold", probeMicros, maxMicros)
			}
		})
	}
}

// TestProbeMatchesTake spends a budget one request at a time and checks
// that the probe admits exactly while Take would.
func TestProbeMatchesTake(t *testing.T) {
	for _, limit := range []ratelimit.Limit{ratelimit.PerHour(30, 10), ratelimit.PerMinute(5, 5), ratelimit.PerSecond(1, 1)} {
		t.Run(limit.String(), func(t *testing.T) {
			fake := clock.NewFake(testEpoch)
			store, err := ratelimit.NewMemory[ratelimit.Key](ratelimit.MemoryOptions{Clock: fake})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			key := ratelimit.Key{Scope: "test", Subject: "alice"}
			for i := range limit.Burst {
				probe, err := store.Take(ctx, key, ProbeLimit(limit), 0)
				if err != nil {
					t.Fatal(err)
				}
				if !probe.Allowed {
					t.Fatalf("probe rejected after %d of %d requests", i, limit.Burst)
				}
				// Time passes between attempts, as it does between
				// requests, and pays back the probe's tiny cost.
				fake.Advance(10 * time.Millisecond)
				if res, _ := store.Take(ctx, key, limit, 0); !res.Allowed {
					t.Fatalf("request %d of a burst of %d rejected after a probe", i+1, limit.Burst)
				}
			}
			probe, err := store.Take(ctx, key, ProbeLimit(limit), 0)
			if err != nil {
				t.Fatal(err)
			}
			if probe.Allowed {
				t.Fatal("probe admitted with the budget spent")
			}
			// The first request came 10ms after the start and each later
			// one 10ms after the previous, so the limit's own wait is one
			// interval minus (Burst-1)×10ms. The probe's wait is at most
			// the cost of the Burst probes longer.
			want := limit.Interval() - time.Duration(limit.Burst-1)*10*time.Millisecond
			slack := time.Duration(limit.Burst) * ProbeLimit(limit).Interval()
			if probe.RetryAfter < want || probe.RetryAfter > want+slack {
				t.Fatalf("probe RetryAfter = %s, want %s plus at most %s", probe.RetryAfter, want, slack)
			}
		})
	}
}
