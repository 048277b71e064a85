// Package verify tests bulwark verify against a real native stack: Consul,
// Vault, Redis and the four services started by internal/stack in a
// temporary state directory on a free range of loopback ports. Every check
// must pass on the stack as built. When the test breaks one protection on
// purpose, the matching check must fail with the right evidence. The broken
// protections are a service instance that serves gRPC without TLS, one
// whose certificate comes from a CA the stack does not trust, and a Vault
// policy that grants another service's Consul credentials.
package verify
