package ratelimit

import (
	"testing"
	"time"
)

func TestNewResult(t *testing.T) {
	limit := PerSecond(10, 5) // interval 100ms, window 500ms
	tests := []struct {
		desc    string
		allowed bool
		wait    time.Duration
		ahead   time.Duration
		want    Result
	}{
		{desc: "first request", allowed: true, ahead: 100 * time.Millisecond,
			want: Result{Allowed: true, Limit: limit, Remaining: 4, ResetAfter: 100 * time.Millisecond}},
		{desc: "last of burst", allowed: true, ahead: 500 * time.Millisecond,
			want: Result{Allowed: true, Limit: limit, Remaining: 0, RetryAfter: 100 * time.Millisecond, ResetAfter: 500 * time.Millisecond}},
		{desc: "rejected", allowed: false, wait: 30 * time.Millisecond, ahead: 430 * time.Millisecond,
			want: Result{Limit: limit, RetryAfter: 30 * time.Millisecond, ResetAfter: 430 * time.Millisecond}},
		{desc: "rejected wait never zero", allowed: false, wait: 0,
			want: Result{Limit: limit, RetryAfter: time.Nanosecond}},
		{desc: "reserved in the future", allowed: true, wait: 200 * time.Millisecond, ahead: 700 * time.Millisecond,
			want: Result{Allowed: true, Limit: limit, Remaining: 0, RetryAfter: 300 * time.Millisecond,
				ResetAfter: 700 * time.Millisecond, Delay: 200 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got := NewResult(limit, tt.allowed, tt.wait, tt.ahead)
			if got != tt.want {
				t.Fatalf("NewResult = %+v, want %+v", got, tt.want)
			}
		})
	}
}
