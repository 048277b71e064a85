package bootstrap

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"time"
)

// rootCommonName is the subject of the root CA.
const rootCommonName = "Bulwark Root CA"

// authority is the root CA: its certificate and its private key.
type authority struct {
	cert    *x509.Certificate
	certPEM []byte
	key     *ecdsa.PrivateKey
}

// pool returns a certificate pool holding only the root.
func (a *authority) pool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(a.cert)
	return pool
}

// ensureRootCA loads the root CA from the layout, or creates it when neither
// of its files exists. It never replaces an existing root, because that would
// break every certificate already issued under it.
func ensureRootCA(l Layout, now time.Time, rec *recorder) (*authority, error) {
	const step = "root-ca"
	_, certErr := os.Stat(l.CACert)
	_, keyErr := os.Stat(l.CAKey)
	switch {
	case certErr == nil && keyErr == nil:
		ca, err := loadAuthority(l.CACert, l.CAKey, now)
		if err != nil {
			return nil, fail(step, err, "restore the root CA files from backup, or start over with an empty state directory")
		}
		rec.record(step, l.CACert, Unchanged)
		return ca, nil
	case errors.Is(certErr, os.ErrNotExist) && errors.Is(keyErr, os.ErrNotExist):
	default:
		return nil, fail(step, fmt.Errorf("found only one of %s and %s", l.CACert, l.CAKey),
			"restore the missing file, or start over with an empty state directory")
	}

	ca, err := newAuthority(now)
	if err != nil {
		return nil, fail(step, err, "")
	}
	keyPEM, err := encodeKey(ca.key)
	if err != nil {
		return nil, fail(step, err, "")
	}
	if err := ensureDir(l.Root, modeSecretDir); err != nil {
		return nil, fail(step, err, "check that the state directory is writable")
	}
	if err := writeFile(l.CAKey, keyPEM, modeSecretFile); err != nil {
		return nil, fail(step, err, "check that the state directory is writable")
	}
	if err := writeFile(l.CACert, ca.certPEM, modePublicFile); err != nil {
		return nil, fail(step, err, "check that the state directory is writable")
	}
	rec.record(step, l.CACert, Created)
	return ca, nil
}

// newAuthority creates a self-signed ECDSA P-256 root CA.
func newAuthority(now time.Time) (*authority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate root CA key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	template := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: rootCommonName, Organization: []string{"Bulwark"}},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(DefaultRootTTL),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            1,
		SubjectKeyId:          subjectKeyID(&key.PublicKey),
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("create root CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse root CA certificate: %w", err)
	}
	return &authority{cert: cert, certPEM: encodeCert(der), key: key}, nil
}

// loadAuthority reads and checks the root CA files.
func loadAuthority(certPath, keyPath string, now time.Time) (*authority, error) {
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, err
	}
	cert, err := parseCertPEM(certPEM)
	if err != nil {
		return nil, fmt.Errorf("root CA %s: %w", certPath, err)
	}
	if !cert.IsCA || cert.CheckSignatureFrom(cert) != nil {
		return nil, fmt.Errorf("root CA %s is not a self-signed CA certificate", certPath)
	}
	if now.After(cert.NotAfter) {
		return nil, fmt.Errorf("root CA %s expired at %s", certPath, cert.NotAfter.UTC().Format(time.RFC3339))
	}
	info, err := os.Stat(keyPath)
	if err != nil {
		return nil, err
	}
	if info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("root CA key %s has mode %o; run chmod 600 %s", keyPath, info.Mode().Perm(), keyPath)
	}
	key, err := readKey(keyPath)
	if err != nil {
		return nil, fmt.Errorf("root CA key %s: %w", keyPath, err)
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("root CA key %s does not match certificate %s", keyPath, certPath)
	}
	return &authority{cert: cert, certPEM: certPEM, key: key}, nil
}

// sign creates a certificate for pub from template, signed by the root.
func (a *authority) sign(template *x509.Certificate, pub *ecdsa.PublicKey) ([]byte, error) {
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	template.SerialNumber = serial
	template.SubjectKeyId = subjectKeyID(pub)
	if template.NotAfter.After(a.cert.NotAfter) {
		template.NotAfter = a.cert.NotAfter
	}
	der, err := x509.CreateCertificate(rand.Reader, template, a.cert, pub, a.key)
	if err != nil {
		return nil, fmt.Errorf("sign certificate %q: %w", template.Subject.CommonName, err)
	}
	return der, nil
}

func randomSerial() (*big.Int, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("generate serial number: %w", err)
	}
	return serial, nil
}

// subjectKeyID follows RFC 5280, section 4.2.1.2, method 1 (with SHA-256
// truncated to 160 bits, as Go's own default does).
func subjectKeyID(pub *ecdsa.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil
	}
	sum := sha256.Sum256(der)
	return sum[:20]
}

func encodeCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func encodeKey(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

func parseCertPEM(data []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("no PEM CERTIFICATE block")
	}
	return x509.ParseCertificate(block.Bytes)
}

func readKey(path string) (*ecdsa.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, errors.New("no PEM PRIVATE KEY block")
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	key, ok := parsed.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("key is %T, not ECDSA", parsed)
	}
	return key, nil
}
