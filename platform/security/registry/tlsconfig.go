package registry

import (
	"crypto/tls"
	"errors"
	"fmt"
)

// ValidateTLSConfig checks that cfg verifies Consul and authenticates the
// service. It rejects:
//
//   - a nil config, because the go-micro Consul plugin then turns certificate
//     verification off;
//   - InsecureSkipVerify, which accepts any server certificate;
//   - a nil RootCAs, which trusts the system's public CAs in place of the
//     trust chain's CA;
//   - a config with neither Certificates nor GetClientCertificate, because
//     Consul runs with verify_incoming and rejects a client without a
//     certificate;
//   - a MinVersion below TLS 1.2.
//
// Host-name verification stays on. Consul's certificate must name the host of
// the address, or cfg.ServerName must name a host in that certificate.
func ValidateTLSConfig(cfg *tls.Config) error {
	if cfg == nil {
		return errors.New("registry: TLS config is nil; pass a config with the trust chain's CA in RootCAs and " +
			"the service's certificate in GetClientCertificate")
	}
	if cfg.InsecureSkipVerify {
		return errors.New("registry: TLS config has InsecureSkipVerify set, which accepts any Consul " +
			"certificate; unset it and put the trust chain's CA in RootCAs")
	}
	if cfg.RootCAs == nil {
		return errors.New("registry: TLS config has no RootCAs, so it would trust every public CA; set RootCAs " +
			"to the trust chain's CA")
	}
	if len(cfg.Certificates) == 0 && cfg.GetClientCertificate == nil {
		return errors.New("registry: TLS config has no client certificate, and Consul rejects clients without " +
			"one; set GetClientCertificate to the service's certificate source")
	}
	if cfg.MinVersion != 0 && cfg.MinVersion < tls.VersionTLS12 {
		return fmt.Errorf("registry: TLS config allows %s; set MinVersion to tls.VersionTLS12 or higher",
			tls.VersionName(cfg.MinVersion))
	}
	return nil
}
