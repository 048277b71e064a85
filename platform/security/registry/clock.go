package registry

import "time"

// clock is the time source of the token rotation, so tests can move time
// forward without sleeping.
type clock interface {
	Now() time.Time
	// NewTimer returns a channel that receives once d has passed and a
	// function that stops the timer.
	NewTimer(d time.Duration) (<-chan time.Time, func() bool)
}

// realClock is the clock of the running process.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	t := time.NewTimer(d)
	return t.C, t.Stop
}
