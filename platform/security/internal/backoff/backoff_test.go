package backoff

import (
	"testing"
	"time"
)

func TestPolicyDelay(t *testing.T) {
	p := Policy{Initial: time.Second, Max: 30 * time.Second}
	tests := []struct {
		desc     string
		attempt  int
		min, max time.Duration
	}{
		{desc: "first", attempt: 1, min: 500 * time.Millisecond, max: time.Second},
		{desc: "zero is first", attempt: 0, min: 500 * time.Millisecond, max: time.Second},
		{desc: "third", attempt: 3, min: 2 * time.Second, max: 4 * time.Second},
		{desc: "capped", attempt: 10, min: 15 * time.Second, max: 30 * time.Second},
		{desc: "huge attempt stays capped", attempt: 1000, min: 15 * time.Second, max: 30 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			for range 100 {
				d := p.Delay(tt.attempt)
				if d < tt.min || d > tt.max {
					t.Fatalf("Delay(%d) = %v, want within [%v, %v]", tt.attempt, d, tt.min, tt.max)
				}
			}
		})
	}
}
