// Package mtls builds the tls.Config values of mutually authenticated links
// between Bulwark services, and of a service's link to Consul.
//
// Threat: a peer that is not a Bulwark service, or that claims to be one it
// is not. ServerConfig requires every client to present a certificate that
// chains to the CA bundle and names a service of the trust domain in its
// single URI SAN. ClientConfig checks the same of every server.
//
// Services are found through the registry by IP:port, and leaves carry no IP
// SANs, so the standard host-name check of a client cannot pass. ClientConfig
// therefore sets InsecureSkipVerify and puts its own check in
// VerifyConnection. The server's chain must verify against the CA bundle for
// server authentication at the current time. Its leaf must carry exactly one
// URI SAN, naming a service of the trust domain or, optionally, one of a
// given set. The tests of this package show that check rejecting a wrong CA, an
// expired certificate, a missing or foreign URI SAN, and two URI SANs.
//
// Both configs read the certificate through callbacks of a Source and the CA
// bundle at each handshake (the server through GetConfigForClient), so
// certificate and CA rotations apply to the next handshake without
// rebuilding the config. Both require TLS 1.3.
package mtls
