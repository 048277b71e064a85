// Package httplimit limits HTTP requests at the gateway per client and
// limits login attempts per username and per client address.
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
// Login budgets count every attempt, successful or not, because the limiter
// runs before the password check. The address budget is checked first, so
// attempts from an address over its limit do not spend the username's
// budget. A per-username limit still lets a distributed guesser lock a user
// out for the limit's period; that is the price of stopping guesses spread
// over many addresses.
package httplimit
