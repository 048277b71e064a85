// Package logthrottle lets a component log a repeated event at most once
// per interval, counting the lines it held back, so that a flood of
// rejections or store failures cannot flood the log too.
package logthrottle

import (
	"sync/atomic"
	"time"
)

// Throttle passes one event per interval. The zero value passes every
// event.
type Throttle struct {
	interval   time.Duration
	next       atomic.Int64 // Unix nanoseconds before which events are held back
	suppressed atomic.Int64
}

// New returns a Throttle that passes one event per interval.
func New(interval time.Duration) *Throttle {
	return &Throttle{interval: interval}
}

// Allow reports whether the event at now may be logged and, if so, how many
// events were held back since the last one logged.
func (t *Throttle) Allow(now time.Time) (ok bool, suppressed int64) {
	at := now.UnixNano()
	next := t.next.Load()
	if at < next || !t.next.CompareAndSwap(next, at+int64(t.interval)) {
		t.suppressed.Add(1)
		return false, 0
	}
	return true, t.suppressed.Swap(0)
}
