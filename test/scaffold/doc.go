// Package scaffold tests `bulwark new service` end to end: it scaffolds a
// fifth service into a copy of the repository, builds it, bootstraps it
// from the copy's infra/ against the real Consul and Vault of
// internal/testenv, runs it as a process, and checks that it gets every
// protection of the shipped services. The tests skip under go test -short.
package scaffold
