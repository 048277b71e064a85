// Package services tests the four service binaries as processes against
// real Consul, Vault and Redis started by internal/testenv, through the
// gateway's public HTTPS port. The tests skip under go test -short.
package services
