package httplimit

import (
	"time"

	"github.com/bulwark-go/bulwark/platform/security/ratelimit"
)

// ProbeLimit returns a limit that checks a key's budget under limit
// without, in effect, spending it. ratelimit.Store offers only Take, which
// spends one request when it admits; ProbeLimit makes that request tiny.
//
// Under GCRA a key of limit (interval I, burst B) rejects its next request
// when its theoretical arrival time (TAT) lies more than (B-1)·I after
// now. The probe limit has the same threshold within one probe interval,
// reached with the largest burst a Limit allows, so its interval is about
// (B-1)·I / ratelimit.MaxBurst: about 1 ms for 30/h burst 10. An admitted
// probe moves the TAT by that interval, a millionth of the budget or less.
// The interval is a whole number of microseconds because redisstore counts
// in microseconds. The probe never rejects later than limit would, and
// rejects earlier by less than one probe interval plus B microseconds.
func ProbeLimit(limit ratelimit.Limit) ratelimit.Limit {
	// Rounding the interval down to whole microseconds keeps the threshold
	// at or below that of both stores, and the product far from overflow.
	threshold := int64(limit.Burst-1) * int64(limit.Interval()/time.Microsecond)
	interval := max((threshold+ratelimit.MaxBurst-2)/(ratelimit.MaxBurst-1), 1)
	burst := int(threshold/interval) + 1

	// Limit has no interval field: Per/Rate must equal the interval, with
	// Per at least ratelimit.MinPeriod.
	per := time.Duration(interval) * time.Microsecond
	rate := 1
	if per < ratelimit.MinPeriod {
		rate = int((ratelimit.MinPeriod + per - 1) / per)
		per *= time.Duration(rate)
	}
	return ratelimit.Limit{Rate: rate, Per: per, Burst: burst}
}
