// Package httplimit limits HTTP requests at the gateway per client and
// limits login attempts per client address, per username and address, and
// per username.
//
// Threat: a client that floods the gateway, and a password guesser. Keys
// must be ones a client cannot choose: an authenticated client (a user ID
// or API key from the caller's ClientKey function) or else the client's
// address. The sender of a request writes X-Forwarded-For and Forwarded
// itself, so ClientIPResolver reads them only when the connection comes
// from a configured trusted proxy, and then only the entries that trusted
// proxies appended. It walks the header from right to left, skips trusted
// hops, and takes the first address that is not one. IPv6 clients
// are keyed by their /64 network, because one subscriber holds all of it.
//
// A rejection is a 429 whose Retry-After is the exact wait until a request
// would pass, rounded up to whole seconds and never 0; it is not the length
// of the limit's period. Responses also carry the RateLimit fields of
// draft-ietf-httpapi-ratelimit-headers in the style chosen by HeaderStyle.
//
// Login has three budgets. Every attempt spends one of its client address
// and one of the (username, address) pair, which stops brute force from one
// address. Only failed attempts spend the username's budget across all
// addresses, the hard cap on guessing spread over many addresses. Failures
// from other addresses therefore do not lock the owner out until that cap
// is spent. Once it is spent, the owner waits too, which is the price of
// the cap.
// The address budget is checked first, so attempts from an address over its
// limit spend nothing of the other two. The username budget is checked
// before the password with a probe that spends almost nothing (ProbeLimit),
// because ratelimit.Store has no read-only check, and charged after a wrong
// password (Login.Fail).
package httplimit
