package ratelimit_test

import (
	"fmt"

	"github.com/bulwark-go/bulwark/platform/security/ratelimit"
)

func ExampleMemory() {
	store, err := ratelimit.NewMemory[string](ratelimit.MemoryOptions{})
	if err != nil {
		panic(err)
	}
	limit := ratelimit.PerMinute(2, 2) // 2 per minute, at most 2 at once

	for range 3 {
		r := store.Allow("203.0.113.7", limit)
		fmt.Println(r.Allowed, r.Remaining, r.RetryAfter.Round(1e9))
	}
	fmt.Println(store.Allow("198.51.100.1", limit).Allowed)
	// Output:
	// true 1 0s
	// true 0 30s
	// false 0 30s
	// true
}

func ExampleParseLimit() {
	l, err := ratelimit.ParseLimit("100/s burst 20")
	if err != nil {
		panic(err)
	}
	fmt.Println(l.Rate, l.Per, l.Burst, l.Interval())
	// Output: 100 1s 20 10ms
}
