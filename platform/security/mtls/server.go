package mtls

import (
	"crypto/tls"
	"fmt"

	"github.com/bulwark-go/bulwark/platform/security/identity"
)

// ServerConfig returns the TLS config of a service's server. Each handshake
// gets a config built from the current CA bundle: TLS 1.3, the current
// certificate of src, and a client certificate that must chain to the bundle
// for client authentication and name a service accepted by the authorizer.
func ServerConfig(src Source, opts ...Option) *tls.Config {
	o := newOptions(opts)
	verify := func(cs tls.ConnectionState) error {
		name, err := identity.FromConnectionState(cs)
		if err != nil {
			return fmt.Errorf("mtls: client certificate: %w", err)
		}
		if err := o.authorize(name); err != nil {
			return err
		}
		return nil
	}
	return &tls.Config{
		MinVersion:     tls.VersionTLS13,
		NextProtos:     o.nextProtos,
		GetCertificate: src.GetCertificate,
		ClientAuth:     tls.RequireAndVerifyClientCert,
		// GetConfigForClient reads the CA bundle at each handshake, so a
		// CA rotation needs no new config. The fields above apply only
		// until it returns.
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			return &tls.Config{
				MinVersion:       tls.VersionTLS13,
				NextProtos:       o.nextProtos,
				GetCertificate:   src.GetCertificate,
				ClientAuth:       tls.RequireAndVerifyClientCert,
				ClientCAs:        src.Roots(),
				Time:             o.now,
				VerifyConnection: verify,
			}, nil
		},
	}
}
