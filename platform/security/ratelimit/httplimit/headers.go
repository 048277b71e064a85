package httplimit

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/bulwark-go/bulwark/platform/security/ratelimit"
)

// HeaderStyle selects the rate-limit response headers.
type HeaderStyle int

const (
	// HeadersLegacy sends RateLimit-Limit (the burst), RateLimit-Remaining
	// and RateLimit-Reset (seconds until the whole burst is back), the
	// three fields of draft-ietf-httpapi-ratelimit-headers up to -06 that
	// most clients read today.
	HeadersLegacy HeaderStyle = iota
	// HeadersIETF sends the two structured fields of the current drafts
	// (-08 to -11): RateLimit-Policy: "default";q=BURST;w=WINDOW and
	// RateLimit: "default";r=REMAINING;t=RESET, times in seconds.
	HeadersIETF
	// HeadersNone sends no RateLimit fields. Rejections still carry
	// Retry-After.
	HeadersNone
)

// policyName is the quota policy identifier of HeadersIETF.
const policyName = `"default"`

// ceilSeconds returns d in whole seconds, rounded up.
func ceilSeconds(d time.Duration) int64 {
	return int64((d + time.Second - 1) / time.Second)
}

// RetryAfterSeconds returns the value of Retry-After for a rejection: the
// wait rounded up to whole seconds and at least 1, so that a client never
// reads 0 and retries at once.
func RetryAfterSeconds(res ratelimit.Result) int64 {
	return max(ceilSeconds(res.RetryAfter), 1)
}

// setHeaders writes the rate-limit fields of res in style, and Retry-After
// when res is a rejection.
func setHeaders(h http.Header, style HeaderStyle, res ratelimit.Result) {
	if !res.Allowed {
		h.Set("Retry-After", strconv.FormatInt(RetryAfterSeconds(res), 10))
	}
	reset := strconv.FormatInt(ceilSeconds(res.ResetAfter), 10)
	switch style {
	case HeadersLegacy:
		h.Set("RateLimit-Limit", strconv.Itoa(res.Limit.Burst))
		h.Set("RateLimit-Remaining", strconv.Itoa(res.Remaining))
		h.Set("RateLimit-Reset", reset)
	case HeadersIETF:
		h.Set("RateLimit-Policy", fmt.Sprintf("%s;q=%d;w=%d", policyName, res.Limit.Burst, ceilSeconds(res.Limit.Window())))
		h.Set("RateLimit", fmt.Sprintf("%s;r=%d;t=%s", policyName, res.Remaining, reset))
	}
}
