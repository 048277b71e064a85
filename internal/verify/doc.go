// Package verify audits a running Bulwark stack, native or compose, by
// attacking it the way the threats of the README describe, and reports one
// result per check with the evidence that decided it.
//
// Threat: a stack whose configuration looks secure while the running
// processes are not, for example a service started with TLS off, a Consul
// agent without verify_incoming, a Vault policy that grants another
// service's secrets, or a gateway without rate limits. Each check performs
// the attack it names and passes only when the stack rejects it.
//
// The checks read the stack's addresses from its env file (.bulwark/env)
// and the service instances from its own Consul catalog. They send traffic
// only to loopback addresses and to the private subnet of the stack's
// Consul address, and reject any other address with an error. Requests are
// bounded in count and each has a timeout. Evidence never contains a
// token, key or secret ID: credentials stay in memory or in 0600 files.
package verify
