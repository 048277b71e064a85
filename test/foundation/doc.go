// Package foundation holds the integration tests of Bulwark's
// infrastructure: real Consul and Vault servers, started by internal/testenv
// with the repository's configuration and bootstrapped by
// internal/bootstrap, must reject plaintext, missing client certificates,
// missing tokens, and every attempt of one service to use another service's
// PKI role or Consul credentials.
//
// The tests skip under go test -short.
package foundation
