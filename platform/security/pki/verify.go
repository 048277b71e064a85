package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/bulwark-go/bulwark/platform/security/identity"
)

// VerifyLeaf checks that cert is usable as the certificate of service at
// time now: its chain verifies against roots for both server and client
// authentication, its leaf names exactly that service, and its private key
// matches the leaf.
func VerifyLeaf(cert *tls.Certificate, service string, roots *x509.CertPool, now time.Time) error {
	if cert == nil || len(cert.Certificate) == 0 {
		return errors.New("pki: certificate is empty")
	}
	leaf := cert.Leaf
	if leaf == nil {
		parsed, err := x509.ParseCertificate(cert.Certificate[0])
		if err != nil {
			return fmt.Errorf("pki: parse leaf: %w", err)
		}
		leaf = parsed
	}
	intermediates := x509.NewCertPool()
	for i, der := range cert.Certificate[1:] {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return fmt.Errorf("pki: parse chain certificate %d: %w", i+1, err)
		}
		intermediates.AddCert(c)
	}
	for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		_, err := leaf.Verify(x509.VerifyOptions{
			Roots:         roots,
			Intermediates: intermediates,
			CurrentTime:   now,
			KeyUsages:     []x509.ExtKeyUsage{usage},
		})
		if err != nil {
			return fmt.Errorf("pki: certificate %s does not verify against the CA bundle: %w",
				Serial(leaf), err)
		}
	}
	name, err := identity.FromCertificate(leaf)
	if err != nil {
		return fmt.Errorf("pki: certificate %s: %w", Serial(leaf), err)
	}
	if name != service {
		return fmt.Errorf("pki: certificate %s names service %q, want %q", Serial(leaf), name, service)
	}
	if !publicKeyMatches(leaf.PublicKey, cert.PrivateKey) {
		return fmt.Errorf("pki: private key does not match certificate %s", Serial(leaf))
	}
	return nil
}

func publicKeyMatches(pub crypto.PublicKey, priv crypto.PrivateKey) bool {
	signer, ok := priv.(crypto.Signer)
	if !ok {
		return false
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	switch p := pub.(type) {
	case *ecdsa.PublicKey, *rsa.PublicKey, ed25519.PublicKey:
		e, ok := p.(equaler)
		return ok && e.Equal(signer.Public())
	}
	return false
}
