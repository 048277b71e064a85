// Package handler implements the inventory service's go-micro endpoints and
// its subscriber to order events.
//
// Threats it answers: bad input reaching the database (every field is
// checked and rejected with a 400 naming it), overselling and double effects
// of retries (see the store package), and events delivered twice or out of
// order (a release is idempotent and a release that arrives before its
// reservation blocks that reservation).
package handler
