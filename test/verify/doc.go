// Package verify tests bulwark verify against a real native stack: Consul,
// Vault, Redis and the four services started by internal/stack in a
// temporary state directory on a free range of loopback ports. Every check
// must pass on the stack as built, and a check must fail with the right
// evidence when the test breaks one protection on purpose: a service
// instance that serves gRPC without TLS, and one whose certificate comes
// from a CA the stack does not trust.
package verify
