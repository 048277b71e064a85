// Package microwrap applies rate limits to go-micro services: a handler
// wrapper for incoming calls, a subscriber wrapper for events, and a call
// wrapper for callers that pace themselves.
//
// Threat: one service (or a compromised one) flooding another's endpoints,
// or claiming another service's name to spend its budget. The handler
// wrapper keys each call by endpoint and by the caller's identity from the
// verified client certificate, never by metadata such as
// Micro-From-Service or Remote, which the caller writes. Calls without a
// verified identity share one strict budget, or are rejected when none is
// configured.
//
// Rejections are go-micro 429 errors whose detail ends with "retry after D"
// (see TooManyRequests and RetryAfter). go-micro clients receive the 429
// as it is. Install the stream interceptor of package grpcerr on the
// server as well, so that plain gRPC clients receive ResourceExhausted
// instead of Unknown.
//
// The go-micro gRPC client (client/grpc v1.2.1) closes its pooled
// connection after any error, so each call after a rejection pays for a new
// mTLS handshake. KeepConnOnRejection keeps the connection for 429s; on a
// 2-core machine it made a rejected call about ten times cheaper (see
// docs/benchmarks.md).
//
// go-micro's HTTP broker discards a subscriber's error, so the subscriber
// wrapper never rejects: it delays a message within a bounded wait and then
// handles it, counting it as overdue if the wait ran out.
package microwrap
