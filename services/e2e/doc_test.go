// Package e2e runs the four services in one process and drives them through
// the gateway's HTTP API. The gateway calls users, orders and inventory
// through real go-micro gRPC clients and servers with the JSON content type.
// Orders publishes through a go-micro broker, and inventory consumes the
// events. The registry and broker are go-micro's in-memory ones, and the
// connections are plaintext on loopback. The security wiring adds mTLS,
// Consul and rate limits, and has its own tests.
package e2e
