package mtls

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/bulwark-go/bulwark/platform/security/identity"
)

// ClientConfig returns the TLS config of a service's client: TLS 1.3, the
// current certificate of src, and a server that must chain to the CA bundle
// and name a service accepted by the authorizer.
//
// InsecureSkipVerify is set because servers are dialled by IP:port and leaves
// carry no IP SANs. It turns off only the standard checks, and
// VerifyConnection replaces them with VerifyServer.
func ClientConfig(src Source, opts ...Option) *tls.Config {
	o := newOptions(opts)
	return &tls.Config{
		MinVersion:           tls.VersionTLS13,
		NextProtos:           o.nextProtos,
		GetClientCertificate: src.GetClientCertificate,
		InsecureSkipVerify:   true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			_, err := VerifyServer(cs.PeerCertificates, src.Roots(), o.now(), o.authorize)
			return err
		},
	}
}

// VerifyServer checks the certificates a server presented: the leaf must
// chain to roots for server authentication at time now, carry exactly one
// URI SAN naming a service of the trust domain, and be accepted by
// authorize. It returns the service name.
func VerifyServer(certs []*x509.Certificate, roots *x509.CertPool, now time.Time, authorize Authorizer) (string, error) {
	if len(certs) == 0 {
		return "", errors.New("mtls: server presented no certificate")
	}
	if roots == nil {
		return "", errors.New("mtls: no CA bundle to verify the server against")
	}
	intermediates := x509.NewCertPool()
	for _, c := range certs[1:] {
		intermediates.AddCert(c)
	}
	leaf := certs[0]
	_, err := leaf.Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: intermediates,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	if err != nil {
		return "", fmt.Errorf("mtls: server certificate does not verify against the CA bundle: %w", err)
	}
	name, err := identity.FromCertificate(leaf)
	if err != nil {
		return "", fmt.Errorf("mtls: server certificate: %w", err)
	}
	if authorize != nil {
		if err := authorize(name); err != nil {
			return "", err
		}
	}
	return name, nil
}
