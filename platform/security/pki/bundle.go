package pki

import (
	"bytes"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
)

// Bundle is the set of CA certificates that leaf certificates must chain to.
// A Bundle loaded from a file can be reloaded, so that a CA rotation takes
// effect without a restart: during the rotation the file holds both the old
// and the new CA.
type Bundle struct {
	path string

	mu   sync.RWMutex
	pem  []byte
	pool *x509.CertPool
}

// LoadBundle reads a PEM file of CA certificates. It fails when the file
// holds no certificate, so that a wrong path never yields an empty bundle.
func LoadBundle(path string) (*Bundle, error) {
	if path == "" {
		return nil, errors.New("pki: CA file is not set; set it to the PEM file of the root CA")
	}
	b := &Bundle{path: path}
	if err := b.Reload(); err != nil {
		return nil, err
	}
	return b, nil
}

// NewBundle returns a fixed bundle of the given CA certificates.
func NewBundle(cas ...*x509.Certificate) *Bundle {
	pool := x509.NewCertPool()
	for _, ca := range cas {
		pool.AddCert(ca)
	}
	return &Bundle{pool: pool}
}

// Pool returns the current CA certificates. The pool must not be modified.
func (b *Bundle) Pool() *x509.CertPool {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.pool
}

// Reload reads the bundle's file again. It keeps the previous certificates
// and returns an error when the file cannot be read or holds no valid CA
// certificate. A fixed bundle has nothing to reload.
func (b *Bundle) Reload() error {
	if b.path == "" {
		return nil
	}
	data, err := os.ReadFile(b.path)
	if err != nil {
		return fmt.Errorf("pki: read CA file: %w", err)
	}
	b.mu.RLock()
	same := b.pool != nil && bytes.Equal(data, b.pem)
	b.mu.RUnlock()
	if same {
		return nil
	}
	pool, err := parseCAs(b.path, data)
	if err != nil {
		return err
	}
	b.mu.Lock()
	b.pem, b.pool = data, pool
	b.mu.Unlock()
	return nil
}

func parseCAs(path string, data []byte) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	count := 0
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("pki: CA file %s: certificate %d: %w", path, count+1, err)
		}
		if !cert.IsCA {
			return nil, fmt.Errorf("pki: CA file %s: certificate %d (%s) is not a CA certificate",
				path, count+1, cert.Subject)
		}
		pool.AddCert(cert)
		count++
	}
	if count == 0 {
		return nil, fmt.Errorf("pki: CA file %s contains no PEM certificate", path)
	}
	return pool, nil
}

// Serial formats the serial number of cert the way Vault prints it: lowercase
// hex bytes separated by colons.
func Serial(cert *x509.Certificate) string {
	if cert == nil || cert.SerialNumber == nil {
		return ""
	}
	raw := hex.EncodeToString(cert.SerialNumber.Bytes())
	if len(raw)%2 == 1 {
		raw = "0" + raw
	}
	parts := make([]string, 0, len(raw)/2)
	for i := 0; i < len(raw); i += 2 {
		parts = append(parts, raw[i:i+2])
	}
	return strings.Join(parts, ":")
}
