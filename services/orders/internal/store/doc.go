// Package store keeps the orders service's orders and its event outbox in
// SQLite.
//
// Threats it addresses:
//   - Lost orders: an order is committed (WAL, synchronous=FULL) before the
//     service replies, so an accepted order survives a crash or restart.
//   - Lost events: each order event is written to the outbox in the same
//     transaction as the state change it reports, and stays there until a
//     publish succeeds, so a broker outage delays an event but never drops it.
//   - Reading another user's order: every read and update is keyed by both
//     the order id and the user id, so another user's order is not found.
package store
