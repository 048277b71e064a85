// Package bootstrap creates the trust chain, the server configuration
// fragments and the Consul and Vault objects that Bulwark services rely on.
//
// Threat: a stack that starts with shared or default credentials. Without
// this package, services would share one Consul token and one Vault token, and
// a compromised service could register as another, read another's
// certificates or talk to Consul and Vault in plaintext. The bootstrap gives
// every service its own Vault AppRole, its own PKI role (which can issue only
// that service's names) and its own Consul role (which can register only
// that service's name), and it keeps the root CA key out of Vault and out of
// every service's reach.
//
// The bootstrap runs in two phases because the servers need certificates
// before they start:
//
//   - Certs (servers stopped): the root CA, the Consul and Vault server
//     certificates, client certificates for Vault's Consul secrets engine and
//     for an operator, the gossip encryption key, and the Consul and Vault
//     configuration fragments with this machine's paths and ports.
//   - Configure (servers running): Vault init and unseal, the PKI
//     intermediate signed by the local root, the PKI roles, policies and
//     AppRoles, Consul ACL bootstrap, ACL policies and the agent token, and
//     Vault's Consul secrets engine with one role per service.
//
// Both phases are idempotent. Each step reports every object as created,
// updated or unchanged, and a second run reports no changes. Nothing the
// bootstrap logs or prints contains a token, key or secret ID: secrets are
// written only to files of mode 0600 in the state directory.
//
// The local stack initializes Vault with a single unseal key stored next to
// the root token. That is a convenience for development and tests only: a
// production Vault uses auto-unseal with a KMS or HSM, and its root token is
// revoked after setup.
package bootstrap
