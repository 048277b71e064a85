// Package verify checks, against a running stack, that the link between the
// services and Consul is secure, and reports the outcome check by check with
// the evidence that decided it.
//
// Threat: a registry link that looks secure in configuration files but is not
// secure on the running servers. Examples are a Consul agent started without
// verify_incoming or with ACL default policy allow, and a token whose policy
// grants more than its own service. Each check performs the attack it names
// (a plaintext request, a handshake without a client certificate, a
// registration without a token, and so on) and passes only when Consul
// rejects it. A check that succeeds in writing to Consul removes what it
// wrote at once.
//
// Run needs the Consul address, the CA file of the trust chain, a client
// certificate from that chain, and optionally the ACL token files of the
// services whose limits should be checked. It never prints a token.
package verify
