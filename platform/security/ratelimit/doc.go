// Package ratelimit limits how fast each key may send requests: a calling
// service on an endpoint, an API client or IP address at the gateway, a
// username at login.
//
// Threat: a caller that floods a service, whether by bug, retry storm or
// attack, takes the capacity that other callers need, and a password
// guesser tries as many passwords as the server will check. A limit per key
// bounds what one caller can take without slowing the others down.
//
// # Algorithm
//
// Every store implements the generic cell rate algorithm (GCRA). A Limit of
// Rate per Per with Burst B has an emission interval T = Per/Rate and a
// tolerance of B×T. Each key stores one time, its theoretical arrival time
// (TAT). A request at time now is admitted when max(TAT, now) + T - B×T is
// not after now, and TAT then becomes max(TAT, now) + T. Over any interval
// of length d a key is therefore admitted at most Rate × d/Per + B times,
// and the exact wait until the next admission follows from the TAT, so
// Result.RetryAfter is never a guess and never zero on a rejection.
//
// Memory, the in-process store, updates the TAT with compare-and-swap. A
// request that read the clock late, which is common under contention, can
// only see a TAT that is already ahead of it, so it is judged more strictly
// and never moves the state back. golang.org/x/time/rate v0.16.0 moves its
// last-update time back when AllowN receives a time earlier than the
// previous call's, which credits the same time twice; Memory does not build
// on it for that reason, and because one int64 per key is cheaper than a
// rate.Limiter with its mutex.
//
// # Memory bounds
//
// A Memory store tracks at most MemoryOptions.MaxKeys keys. A key whose
// whole burst is back is idle: removing it changes no decision, so sweeps
// remove idle keys every MemoryOptions.SweepInterval. Keys that arrive while
// the store is full share one overflow budget until sweeps make room, so a
// flood of new keys costs bounded memory and resets no one's budget.
//
// # Sub-packages
//
// microwrap limits go-micro handlers, subscribers and clients; httplimit
// limits HTTP requests at the gateway and login attempts; redisstore shares
// budgets between instances through Redis; config loads limits from a YAML
// file and the environment and reloads them.
package ratelimit
