// Package pki keeps a service supplied with a valid leaf certificate from
// Vault's PKI engine and with the CA bundle that peers' certificates must
// chain to.
//
// Threat: a long-lived certificate that leaks stays usable by an attacker
// until it expires, and a service whose certificate expires stops talking to
// everyone. Leaves are therefore short-lived (minutes to an hour) and a
// Source rotates them without a restart: it renews at about two thirds of
// the lifetime, minus random jitter, and retries with backoff while Vault is
// unreachable. Until a renewal succeeds it keeps serving the current
// certificate. TLS configs read the certificate through GetCertificate and
// GetClientCertificate, so every new handshake uses the newest one.
//
// A Source also checks every certificate it receives before using it: the
// chain must verify against the CA bundle, the leaf must name exactly the
// service's identity, allow both server and client authentication, and
// match its private key. A misconfigured or compromised issuer therefore
// cannot make a service present another identity.
//
// Limits: an expired certificate cannot be served, so a Vault outage longer
// than the rest of the certificate's lifetime makes every new handshake
// fail until Vault returns. The renewal timer follows the machine's clock,
// so a machine that sleeps through the renewal time wakes with an expired
// certificate and renews at once. Connections opened before a rotation keep
// the certificate they were opened with; bound their age (client pool TTL,
// server MaxConnectionAge) to bound how long an old certificate stays in
// use.
//
// The Issuer interface separates the schedule from Vault: VaultIssuer talks
// to a real Vault, and pkitest provides an in-memory CA for unit tests.
package pki
