package logthrottle

import (
	"testing"
	"time"
)

func TestThrottlePassesOnePerInterval(t *testing.T) {
	th := New(10 * time.Second)
	start := time.Unix(1_900_000_000, 0)
	steps := []struct {
		desc           string
		at             time.Duration
		wantOK         bool
		wantSuppressed int64
	}{
		{desc: "first", at: 0, wantOK: true},
		{desc: "held back", at: time.Second, wantOK: false},
		{desc: "held back again", at: 9 * time.Second, wantOK: false},
		{desc: "next interval reports two", at: 10 * time.Second, wantOK: true, wantSuppressed: 2},
		{desc: "held back after", at: 11 * time.Second, wantOK: false},
	}
	for _, s := range steps {
		ok, suppressed := th.Allow(start.Add(s.at))
		if ok != s.wantOK {
			t.Fatalf("%s: ok = %v, want %v", s.desc, ok, s.wantOK)
		}
		if suppressed != s.wantSuppressed {
			t.Fatalf("%s: suppressed = %d, want %d", s.desc, suppressed, s.wantSuppressed)
		}
	}
}

func TestThrottleZeroValuePassesAll(t *testing.T) {
	var th Throttle
	now := time.Unix(1_900_000_000, 0)
	for i := range 3 {
		if ok, _ := th.Allow(now); !ok {
			t.Fatalf("event %d held back by the zero Throttle", i)
		}
	}
}
