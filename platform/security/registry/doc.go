// Package registry connects a go-micro service to Consul with its own ACL
// token, issued by Vault, over verified mutual TLS, and rotates that token
// without a restart.
//
// Threats that the package counters:
//
//   - Rogue registration. A process that can write to Consul could register
//     itself under another service's name and receive that service's calls.
//     Each service authenticates with an ACL token from Vault's Consul secrets
//     engine (consul/creds/<service>), whose policy allows writing only its own
//     name. A registration that Consul rejects is an error to the caller, not a
//     log line: see [Registry.CheckRegistered].
//   - Eavesdropping on or tampering with the registry link. Registrations and
//     discovery responses travel only over TLS that verifies Consul's
//     certificate against the trust chain's CA, and the service presents its
//     own client certificate, which Consul verifies (verify_incoming). Options
//     that would turn verification off are rejected at construction.
//   - Long-lived or leaked tokens. The token is a lease that the service
//     renews, and it is replaced before the lease ends. The secret ID is never
//     logged and never appears in an error message. Only its accessor ID and
//     lease ID are logged.
//
// The go-micro Consul plugin reads its token once, when a client is made, and
// swapping it in place is a data race. A [Registry] therefore delegates to an
// inner plugin registry. On every new token, it builds a new inner registry,
// registers every known node with the new token, switches to it, and restarts
// watchers on the new client. Registering the same node ID again also replaces
// the token that the Consul agent uses to sync that node to the catalog, so the
// old token can end without leaving the node unsynced.
package registry
