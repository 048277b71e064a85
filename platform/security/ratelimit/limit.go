package ratelimit

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Bounds of a Limit. They keep every computation in int64 nanoseconds far
// from overflow: the longest burst window is MaxBurst × MaxPeriod, about
// 2.7 years.
const (
	MinPeriod = time.Millisecond
	MaxPeriod = 24 * time.Hour
	MaxBurst  = 1_000_000
)

// Limit is a rate of Rate requests per Per, with up to Burst requests
// admitted at once after a quiet period. The zero Limit is invalid.
type Limit struct {
	// Rate is the number of requests per Per; at least 1.
	Rate int
	// Per is the period of Rate, from MinPeriod to MaxPeriod. time.Second,
	// time.Minute and time.Hour are the usual values.
	Per time.Duration
	// Burst is the number of requests a key may send at once; from 1 to
	// MaxBurst.
	Burst int
}

// PerSecond returns a limit of rate requests per second with the given burst.
func PerSecond(rate, burst int) Limit { return Limit{Rate: rate, Per: time.Second, Burst: burst} }

// PerMinute returns a limit of rate requests per minute with the given burst.
func PerMinute(rate, burst int) Limit { return Limit{Rate: rate, Per: time.Minute, Burst: burst} }

// PerHour returns a limit of rate requests per hour with the given burst.
func PerHour(rate, burst int) Limit { return Limit{Rate: rate, Per: time.Hour, Burst: burst} }

// IsZero reports whether l is the zero Limit, which callers use for "not
// set".
func (l Limit) IsZero() bool { return l == Limit{} }

// Validate checks the bounds of every field and returns an error that names
// the invalid value and the valid range.
func (l Limit) Validate() error {
	switch {
	case l.Rate < 1:
		return fmt.Errorf("ratelimit: rate %d in limit %q is invalid; use a rate of at least 1", l.Rate, l.String())
	case l.Per < MinPeriod || l.Per > MaxPeriod:
		return fmt.Errorf("ratelimit: period %s in limit %q is invalid; use a period from %s to %s",
			l.Per, l.String(), MinPeriod, MaxPeriod)
	case int64(l.Rate) > l.Per.Nanoseconds():
		return fmt.Errorf("ratelimit: rate %d per %s in limit %q is more than one request per nanosecond; lower the rate",
			l.Rate, l.Per, l.String())
	case l.Burst < 1 || l.Burst > MaxBurst:
		return fmt.Errorf("ratelimit: burst %d in limit %q is invalid; use a burst from 1 to %d",
			l.Burst, l.String(), MaxBurst)
	}
	return nil
}

// Interval returns the emission interval, the time that one request's worth
// of budget takes to return: Per / Rate, rounded up to a whole nanosecond so
// that rounding never admits more than Rate per Per.
func (l Limit) Interval() time.Duration {
	per, rate := int64(l.Per), int64(l.Rate)
	return time.Duration((per + rate - 1) / rate)
}

// Window returns the time an exhausted key needs to regain its whole burst:
// Burst × Interval.
func (l Limit) Window() time.Duration { return time.Duration(l.Burst) * l.Interval() }

// String formats l in the syntax that ParseLimit reads, for example
// "100/s burst 20".
func (l Limit) String() string {
	var period string
	switch l.Per {
	case time.Second:
		period = "s"
	case time.Minute:
		period = "m"
	case time.Hour:
		period = "h"
	default:
		period = l.Per.String()
	}
	return strconv.Itoa(l.Rate) + "/" + period + " burst " + strconv.Itoa(l.Burst)
}

// ParseLimit reads a limit written as "RATE/PERIOD" or "RATE/PERIOD burst
// BURST". PERIOD is s, m or h (also second, minute, hour), or a Go duration
// such as 10s or 100ms. Without a burst, the burst equals the rate. The
// result is validated.
//
// Examples: "100/s burst 20", "5/m", "1000/h burst 50", "3/10s burst 3".
func ParseLimit(s string) (Limit, error) {
	fields := strings.Fields(s)
	if len(fields) != 1 && len(fields) != 3 {
		return Limit{}, fmt.Errorf("ratelimit: limit %q is not of the form RATE/PERIOD or RATE/PERIOD burst BURST, for example \"100/s burst 20\"", s)
	}
	rateText, periodText, ok := strings.Cut(fields[0], "/")
	if !ok {
		return Limit{}, fmt.Errorf("ratelimit: limit %q has no /PERIOD; write for example \"100/s\"", s)
	}
	rate, err := strconv.Atoi(rateText)
	if err != nil {
		return Limit{}, fmt.Errorf("ratelimit: rate %q in limit %q is not an integer", rateText, s)
	}
	per, err := parsePeriod(periodText)
	if err != nil {
		return Limit{}, fmt.Errorf("ratelimit: limit %q: %w", s, err)
	}
	l := Limit{Rate: rate, Per: per, Burst: rate}
	if len(fields) == 3 {
		if fields[1] != "burst" {
			return Limit{}, fmt.Errorf("ratelimit: limit %q has %q where \"burst\" belongs", s, fields[1])
		}
		if l.Burst, err = strconv.Atoi(fields[2]); err != nil {
			return Limit{}, fmt.Errorf("ratelimit: burst %q in limit %q is not an integer", fields[2], s)
		}
	}
	if err := l.Validate(); err != nil {
		return Limit{}, err
	}
	return l, nil
}

var errEmptyPeriod = errors.New("period is empty; use s, m, h or a Go duration such as 10s")

func parsePeriod(text string) (time.Duration, error) {
	switch text {
	case "":
		return 0, errEmptyPeriod
	case "s", "sec", "second":
		return time.Second, nil
	case "m", "min", "minute":
		return time.Minute, nil
	case "h", "hour":
		return time.Hour, nil
	}
	d, err := time.ParseDuration(text)
	if err != nil {
		return 0, fmt.Errorf("period %q is not s, m, h or a Go duration such as 10s", text)
	}
	return d, nil
}
