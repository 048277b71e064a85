// Package identity defines the names Bulwark services are known by and reads a
// caller's identity from its verified certificate.
//
// Threat: a caller that claims to be another service. go-micro metadata such as
// Remote and Micro-From-Service is written by the caller and can say anything,
// so this package never reads it. The only source of a caller's identity is the
// URI SAN of a client certificate that the TLS handshake verified against the
// trust chain.
//
// A service named "orders" has the URI SAN
// spiffe://bulwark.internal/service/orders and the DNS SAN
// orders.service.bulwark.internal.
package identity
