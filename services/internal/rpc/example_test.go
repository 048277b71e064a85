package rpc_test

import (
	"fmt"
	"time"

	"github.com/bulwark-go/bulwark/services/internal/rpc"
)

// A handler rejects one field; the caller, after the go-micro hop, splits
// the detail again to tell the end user which field to fix.
func ExampleInvalidField() {
	err := rpc.InvalidField("orders", "items[1].quantity", "must be at least 1")

	merr := rpc.AsError(err)
	field, reason := rpc.FieldReason(merr.Detail)
	fmt.Println(merr.Code, field, "-", reason)
	// Output: 400 items[1].quantity - must be at least 1
}

// A rate-limited backend sends the wait in its 429; the gateway reads it back
// for the Retry-After header.
func ExampleRetryAfter() {
	err := rpc.TooManyRequests("inventory", "rate limit exceeded", 3*time.Second)

	wait, ok := rpc.RetryAfter(rpc.AsError(err).Detail)
	fmt.Println(wait, ok)
	// Output: 3s true
}
