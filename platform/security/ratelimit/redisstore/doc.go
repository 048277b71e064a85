// Package redisstore shares rate-limit budgets between instances of a
// service through Redis.
//
// Threat: with budgets in memory, N instances behind a load balancer admit
// N times the configured limit, and a caller that spreads its requests gets
// all of it. A shared store gives every instance one budget per key.
//
// Each decision runs one Lua script implementing GCRA, the algorithm of
// ratelimit.Memory, on Redis's own clock, so instances with skewed clocks
// agree and Result fields (RetryAfter, Remaining) mean the same as in
// memory. Times are kept in microseconds, so the shortest interval is one
// microsecond and intervals are rounded up to it. The script stores one
// string per key, which expires once the key's whole burst is back.
//
// When Redis fails or is slow (Options.Timeout), Options.OnError decides:
// FailOpen uses a local in-memory store, so each instance still limits but
// on its own budget; FailClosed rejects with a RetryAfter of at least one
// second. Either way the decision is counted in the fallback metric and the
// failure is logged at most once per LogInterval. After a failure the store
// skips Redis for Options.RetryInterval, so a dead Redis costs one timeout
// per interval, not one per request.
//
// The Redis password is read from a file that only its owner may read
// (NewClient) and appears in no log line or error.
package redisstore
