package microwrap

import (
	"errors"
	"net/http"
	"testing"
	"time"

	merrors "go-micro.dev/v4/errors"
)

func TestTooManyRequestsCarriesWait(t *testing.T) {
	tests := []struct {
		desc  string
		wait  time.Duration
		wantD time.Duration
	}{
		{desc: "whole seconds", wait: 2 * time.Second, wantD: 2 * time.Second},
		{desc: "rounds up to ms", wait: 1500*time.Millisecond + time.Nanosecond, wantD: 1501 * time.Millisecond},
		{desc: "tiny wait is one ms", wait: time.Nanosecond, wantD: time.Millisecond},
		{desc: "zero wait is one ms", wait: 0, wantD: time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			err := TooManyRequests("orders", "rate limit exceeded", tt.wait)
			var merr *merrors.Error
			if !errors.As(err, &merr) {
				t.Fatalf("error %v is not a go-micro error", err)
			}
			if merr.Code != http.StatusTooManyRequests || merr.Id != "orders" {
				t.Fatalf("error = %+v, want code 429 and id orders", merr)
			}
			got, ok := RetryAfter(err)
			if !ok {
				t.Fatalf("RetryAfter(%q) found no wait", merr.Detail)
			}
			if got != tt.wantD {
				t.Fatalf("RetryAfter = %s, want %s", got, tt.wantD)
			}
		})
	}
}

func TestRetryAfterIgnoresOtherErrors(t *testing.T) {
	for _, err := range []error{
		nil,
		errors.New("plain"),
		merrors.New("orders", "retry after 1s", http.StatusServiceUnavailable),
		merrors.New("orders", "no wait here", http.StatusTooManyRequests),
		merrors.New("orders", "retry after soon", http.StatusTooManyRequests),
	} {
		if d, ok := RetryAfter(err); ok {
			t.Fatalf("RetryAfter(%v) = %s, true; want false", err, d)
		}
	}
}
