// Package backoff computes retry delays that grow exponentially up to a
// maximum, with random jitter so that many processes retrying against the
// same server (Vault after a restart) do not retry in step.
package backoff

import (
	"math/rand/v2"
	"time"
)

// Policy is an exponential backoff with full jitter on the upper half: the
// delay of attempt n (counting from 1) is a random duration between half and
// all of min(Initial*2^(n-1), Max).
type Policy struct {
	Initial time.Duration
	Max     time.Duration
}

// Delay returns the delay before retry attempt n, counting from 1. A zero
// or negative n is treated as 1.
func (p Policy) Delay(n int) time.Duration {
	if n < 1 {
		n = 1
	}
	d := p.Initial
	for i := 1; i < n && d < p.Max; i++ {
		d *= 2
	}
	if d > p.Max {
		d = p.Max
	}
	if d <= 1 {
		return d
	}
	half := d / 2
	return half + rand.N(d-half+1)
}
