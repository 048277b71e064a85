package mtls

import (
	"crypto/tls"
	"errors"
)

// RegistryClientConfig returns the TLS config of the link to Consul: the
// standard verification of Consul's certificate, including its host name,
// against the CA bundle, and the service's certificate as the client
// certificate that Consul's verify_incoming demands. serverName overrides
// the host name checked; leave it empty to check the host of the address.
//
// NOTE: RootCAs is a copy of the CA bundle taken now, because a client config
// has no per-handshake hook for it. Build a new config after a CA rotation.
func RegistryClientConfig(src Source, serverName string) (*tls.Config, error) {
	roots := src.Roots()
	if roots == nil {
		return nil, errors.New("mtls: no CA bundle; Consul's certificate cannot be verified")
	}
	return &tls.Config{
		MinVersion:           tls.VersionTLS12,
		RootCAs:              roots,
		ServerName:           serverName,
		GetClientCertificate: src.GetClientCertificate,
	}, nil
}
