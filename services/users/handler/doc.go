// Package handler implements the users service's go-micro endpoints:
// registration, password login, logout and session authentication.
//
// Threats it addresses:
//   - User enumeration: a login with an unknown email and a login with a
//     wrong password return the same 401 error, and the unknown-email path
//     still verifies a dummy argon2id hash so that both take about as long.
//   - Token theft from the database: a session token is 256 random bits,
//     returned once and stored only as its SHA-256 hash.
//   - Stale sessions: every session expires after a fixed lifetime and can be
//     revoked by logout; Authenticate rejects both.
//   - Memory exhaustion through logins: at most MaxConcurrentHashes argon2id
//     computations run at once; further requests wait until their deadline
//     and then get a 503.
//
// Login brute force is limited at the gateway, per email and client address.
package handler
