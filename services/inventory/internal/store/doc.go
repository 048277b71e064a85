// Package store keeps products, stock and per-order reservations of the
// inventory service in SQLite.
//
// Threats it addresses:
//   - Overselling: a reservation takes stock with one conditional update per
//     product (stock = stock - q WHERE stock >= q) inside one transaction, so
//     two orders for the last unit cannot both win and stock never goes
//     below zero (a CHECK constraint backs this up).
//   - Double effects from retried calls and redelivered events: reservations
//     are recorded per order id, so reserving an order twice takes stock
//     once and releasing it twice returns stock once. A release of an order
//     that was never reserved leaves a released record behind, so a late
//     reservation for it is rejected instead of taking stock for good.
package store
