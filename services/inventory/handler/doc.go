// Package handler implements the inventory service's go-micro endpoints and
// its subscriber to order events.
//
// Threats it addresses:
//   - Bad input reaching the database: every field is checked and rejected
//     with a 400 that names it.
//   - Overselling and double effects of retries: see the store package.
//   - Events delivered twice or out of order: a release is idempotent, and a
//     release that arrives before its reservation blocks that reservation.
package handler
