// Package handler implements the orders service's go-micro endpoints.
//
// Threats it addresses:
//   - Reading or cancelling another user's order: every lookup is keyed by
//     the user id that the gateway took from an authenticated session, and
//     another user's order is reported as not found (404), so its existence
//     does not leak.
//   - Lost orders and stranded stock: stock is reserved first, the order is
//     committed before the reply, and if storing fails the reservation is
//     released again. Events go through a transactional outbox, so a broker
//     outage delays order.cancelled (and the stock it returns) but never
//     loses it.
//
// NOTE: the user id in a request is trusted. Only the gateway may call these
// endpoints, which the service's authorization table enforces from the
// caller's verified certificate.
package handler
