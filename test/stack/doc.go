// Package stack tests the native stack end to end. The built bulwark
// binary runs up, down, clean and status with real Consul, Vault, Redis and
// service processes. Each test uses a temporary state directory and a free
// range of loopback ports, so it never touches a stack a person runs.
//
// The tests of tools/stack/stack.sh run a copy of the script in a fake
// repository with stand-ins for docker and compose.sh, so they check the
// choice of mode without Docker.
package stack
