// Package httpapi is the gateway's public HTTP/JSON API: routing, strict JSON
// decoding, bearer-token authentication through the users service, calls to
// the backends, and the mapping of backend errors to HTTP status codes.
//
// Threats it addresses:
//   - Slow or oversized requests that tie up the server: NewServer sets
//     header, read, write and idle timeouts and a header size limit, and every
//     body is capped at Config.MaxBodyBytes (413 beyond it).
//   - Malformed input reaching the backends: bodies are decoded strictly
//     (unknown fields, trailing data and wrong types are rejected with a 400
//     naming the field) and checked before any backend call.
//   - Unauthenticated access: order endpoints require a bearer session token,
//     which the users service checks. The user id comes only from that check,
//     never from the request.
//   - Leaking internals: backend failures become fixed messages (500, 503,
//     504). Only the client-error details that backends write for end users
//     are passed on.
//   - Password guessing: Config.LoginLimiter is called before every password
//     check, keyed by the normalized email and the client address. Its
//     Failed method is called after every wrong password, so that budgets
//     of failed attempts count only failures.
//
// Every error is a JSON body {"error": {"code", "message", "field"}}.
package httpapi
