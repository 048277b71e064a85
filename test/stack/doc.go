// Package stack tests the native stack end to end. The built bulwark
// binary runs up, down, clean and status with real Consul, Vault, Redis and
// service processes. Each test uses a temporary state directory and a free
// range of loopback ports, so it never touches a stack a person runs.
package stack
