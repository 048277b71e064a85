package bootstrap

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"time"
)

// certSpec describes a certificate that the root signs directly: the Consul
// and Vault server certificates and the client certificates.
type certSpec struct {
	commonName string
	dnsNames   []string
	ips        []net.IP
	usages     []x509.ExtKeyUsage
	ttl        time.Duration
}

// renewBefore is the remaining fraction of a certificate's lifetime below
// which ensureCert issues a new one.
const renewBefore = 3

// ensureCert makes certPath and keyPath hold a certificate that matches spec,
// chains to the root and has more than a third of its lifetime left. It
// keeps a matching certificate and replaces anything else.
func ensureCert(step string, ca *authority, spec certSpec, certPath, keyPath string, now time.Time, rec *recorder) error {
	existing, existed := loadCert(certPath, keyPath)
	if existed && certMatches(existing, ca, spec, now) {
		rec.record(step, certPath, Unchanged)
		return nil
	}
	certPEM, keyPEM, err := issueCert(ca, spec, now)
	if err != nil {
		return fail(step, err, "")
	}
	// The key goes first so that a crash between the writes leaves a
	// certificate that no longer matches and is replaced on the next run.
	if err := writeFile(keyPath, keyPEM, modeSecretFile); err != nil {
		return fail(step, err, "check that the state directory is writable")
	}
	if err := writeFile(certPath, certPEM, modePublicFile); err != nil {
		return fail(step, err, "check that the state directory is writable")
	}
	rec.recordWrite(step, certPath, existed, true)
	return nil
}

// issueCert creates a key pair and a certificate for spec.
func issueCert(ca *authority, spec certSpec, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate key for %q: %w", spec.commonName, err)
	}
	template := &x509.Certificate{
		Subject:               pkix.Name{CommonName: spec.commonName, Organization: []string{"Bulwark"}},
		DNSNames:              spec.dnsNames,
		IPAddresses:           spec.ips,
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(spec.ttl),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           spec.usages,
		BasicConstraintsValid: true,
		AuthorityKeyId:        ca.cert.SubjectKeyId,
	}
	der, err := ca.sign(template, &key.PublicKey)
	if err != nil {
		return nil, nil, err
	}
	keyPEM, err = encodeKey(key)
	if err != nil {
		return nil, nil, err
	}
	return encodeCert(der), keyPEM, nil
}

// loadCert reads a certificate and checks that its key file holds the
// matching private key. existed is false when either file is missing or
// unreadable, or the pair does not match.
func loadCert(certPath, keyPath string) (cert *x509.Certificate, existed bool) {
	data, err := os.ReadFile(certPath)
	if errors.Is(err, os.ErrNotExist) {
		return nil, false
	}
	if err != nil {
		return nil, true
	}
	cert, err = parseCertPEM(data)
	if err != nil {
		return nil, true
	}
	key, err := readKey(keyPath)
	if err != nil || !key.PublicKey.Equal(cert.PublicKey) {
		return nil, true
	}
	info, err := os.Stat(keyPath)
	if err != nil || info.Mode().Perm() != modeSecretFile {
		return nil, true
	}
	return cert, true
}

// certMatches reports whether cert chains to the root, carries exactly the
// names and usages of spec and is not yet due for renewal.
func certMatches(cert *x509.Certificate, ca *authority, spec certSpec, now time.Time) bool {
	if cert == nil {
		return false
	}
	_, err := cert.Verify(x509.VerifyOptions{
		Roots:       ca.pool(),
		CurrentTime: now,
		KeyUsages:   spec.usages,
	})
	if err != nil {
		return false
	}
	lifetime := cert.NotAfter.Sub(cert.NotBefore)
	if cert.NotAfter.Sub(now) < lifetime/renewBefore {
		return false
	}
	if cert.Subject.CommonName != spec.commonName || !slices.Equal(cert.DNSNames, spec.dnsNames) {
		return false
	}
	if !slices.Equal(cert.ExtKeyUsage, spec.usages) || len(cert.IPAddresses) != len(spec.ips) {
		return false
	}
	for i, ip := range spec.ips {
		if !ip.Equal(cert.IPAddresses[i]) {
			return false
		}
	}
	return true
}
