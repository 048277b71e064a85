package registry

import (
	"testing"
	"time"
)

func TestLeaseNext(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		desc     string
		lease    lease
		wantStep step
		wantAt   time.Duration // after t0
	}{
		{
			desc:     "fresh renewable lease renews at two thirds",
			lease:    lease{ttl: time.Minute, renewable: true, renewedAt: t0, granted: time.Minute},
			wantStep: stepRenew, wantAt: 40 * time.Second,
		},
		{
			desc:     "non-renewable lease rotates a quarter before the end",
			lease:    lease{ttl: time.Minute, renewedAt: t0, granted: time.Minute},
			wantStep: stepRotate, wantAt: 45 * time.Second,
		},
		{
			desc:     "renewal capped by max_ttl rotates",
			lease:    lease{ttl: time.Minute, renewable: true, renewedAt: t0, granted: 20 * time.Second},
			wantStep: stepRotate, wantAt: 5 * time.Second,
		},
		{
			desc:     "long grant renews",
			lease:    lease{ttl: time.Hour, renewable: true, renewedAt: t0, granted: time.Hour},
			wantStep: stepRenew, wantAt: 40 * time.Minute,
		},
		{
			desc: "jitter moves the step earlier",
			lease: lease{ttl: time.Minute, renewable: true, renewedAt: t0, granted: time.Minute,
				jitter: 3 * time.Second},
			wantStep: stepRenew, wantAt: 37 * time.Second,
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			gotStep, gotAt := tt.lease.next()
			if gotStep != tt.wantStep || !gotAt.Equal(t0.Add(tt.wantAt)) {
				t.Errorf("next() = %v at %v, want %v at %v", gotStep, gotAt.Sub(t0), tt.wantStep, tt.wantAt)
			}
		})
	}
}

func TestRetryDelay(t *testing.T) {
	tests := []struct {
		failures int
		want     time.Duration
	}{
		{1, time.Second},
		{2, 2 * time.Second},
		{3, 4 * time.Second},
		{5, 16 * time.Second},
		{6, maxRetryDelay},
		{100, maxRetryDelay},
	}
	for _, tt := range tests {
		if got := retryDelay(tt.failures); got != tt.want {
			t.Errorf("retryDelay(%d) = %v, want %v", tt.failures, got, tt.want)
		}
	}
}

func TestRandomJitter(t *testing.T) {
	for range 1000 {
		if j := randomJitter(time.Minute); j < 0 || j >= time.Minute/jitterDivisor {
			t.Fatalf("randomJitter(1m) = %v, want [0, 6s)", j)
		}
	}
	if j := randomJitter(0); j != 0 {
		t.Errorf("randomJitter(0) = %v", j)
	}
}
