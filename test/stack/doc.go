// Package stack tests the native stack end to end: the built bulwark
// binary runs up, down, clean and status against real Consul, Vault, Redis
// and service processes, in a temporary state directory and on a free
// range of loopback ports, so it never touches a stack a person runs.
package stack
