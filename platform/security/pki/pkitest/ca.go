// Package pkitest provides an in-memory certificate authority for tests of
// the security packages: a root, an intermediate, and leaves with any names,
// lifetimes and usages, including broken ones for attack tests.
package pkitest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/platform/security/identity"
)

// CA is a root CA with one intermediate that signs leaves, like Bulwark's
// root and Vault's pki_int.
type CA struct {
	Root         *x509.Certificate
	Intermediate *x509.Certificate

	rootKey, intermediateKey *ecdsa.PrivateKey
}

// NewCA returns a CA whose certificates are valid from a day ago for ten
// years.
func NewCA(tb testing.TB) *CA {
	tb.Helper()
	ca := &CA{rootKey: newKey(tb), intermediateKey: newKey(tb)}
	notBefore := time.Now().Add(-24 * time.Hour)
	notAfter := notBefore.Add(10 * 365 * 24 * time.Hour)
	ca.Root = sign(tb, &x509.Certificate{
		Subject:               pkix.Name{CommonName: "pkitest root"},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}, nil, &ca.rootKey.PublicKey, ca.rootKey)
	ca.Intermediate = sign(tb, &x509.Certificate{
		Subject:               pkix.Name{CommonName: "pkitest intermediate"},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}, ca.Root, &ca.intermediateKey.PublicKey, ca.rootKey)
	return ca
}

// Pool returns a pool holding the root.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Root)
	return p
}

// WriteRoot writes the root as PEM to a file in dir and returns its path.
func (ca *CA) WriteRoot(tb testing.TB, dir string) string {
	tb.Helper()
	path := filepath.Join(dir, "ca.pem")
	data := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Root.Raw})
	if err := os.WriteFile(path, data, 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

// LeafOptions describes a leaf. Zero fields take the defaults of Leaf.
type LeafOptions struct {
	// URIs are the URI SANs. Nil means the service's SPIFFE ID; use an
	// empty non-nil slice for none.
	URIs        []string
	DNSNames    []string
	NotBefore   time.Time
	NotAfter    time.Time
	ExtKeyUsage []x509.ExtKeyUsage
	// SignedByRoot signs the leaf with the root directly, with no
	// intermediate in the chain.
	SignedByRoot bool
}

// Leaf returns a certificate of service valid from notBefore to notAfter,
// signed by the intermediate, for server and client authentication, with the
// intermediate in its chain.
func (ca *CA) Leaf(tb testing.TB, service string, notBefore, notAfter time.Time) *tls.Certificate {
	tb.Helper()
	return ca.LeafWith(tb, service, LeafOptions{NotBefore: notBefore, NotAfter: notAfter})
}

// LeafWith returns a leaf of service shaped by opts.
func (ca *CA) LeafWith(tb testing.TB, service string, opts LeafOptions) *tls.Certificate {
	tb.Helper()
	if opts.URIs == nil {
		opts.URIs = []string{identity.URI(service)}
	}
	if opts.DNSNames == nil {
		opts.DNSNames = []string{identity.DNSName(service)}
	}
	if opts.NotBefore.IsZero() {
		opts.NotBefore = time.Now().Add(-time.Minute)
	}
	if opts.NotAfter.IsZero() {
		opts.NotAfter = opts.NotBefore.Add(time.Hour)
	}
	if opts.ExtKeyUsage == nil {
		opts.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	}
	var uris []*url.URL
	for _, u := range opts.URIs {
		parsed, err := url.Parse(u)
		if err != nil {
			tb.Fatal(err)
		}
		uris = append(uris, parsed)
	}
	key := newKey(tb)
	parent, parentKey := ca.Intermediate, ca.intermediateKey
	if opts.SignedByRoot {
		parent, parentKey = ca.Root, ca.rootKey
	}
	leaf := sign(tb, &x509.Certificate{
		Subject:     pkix.Name{CommonName: identity.DNSName(service)},
		NotBefore:   opts.NotBefore,
		NotAfter:    opts.NotAfter,
		DNSNames:    opts.DNSNames,
		URIs:        uris,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: opts.ExtKeyUsage,
	}, parent, &key.PublicKey, parentKey)
	chain := [][]byte{leaf.Raw}
	if !opts.SignedByRoot {
		chain = append(chain, ca.Intermediate.Raw)
	}
	return &tls.Certificate{Certificate: chain, PrivateKey: key, Leaf: leaf}
}

// Issuer is an in-memory pki.Issuer that signs leaves of one service with a
// fixed lifetime, and can be made to fail.
type Issuer struct {
	ca      *CA
	tb      testing.TB
	service string
	ttl     time.Duration
	now     func() time.Time

	mu    sync.Mutex
	err   error
	count int
	// Override, when set, replaces the issued certificate.
	override func() *tls.Certificate
}

// Issuer returns an Issuer of service whose leaves start at now() and live
// for ttl.
func (ca *CA) Issuer(tb testing.TB, service string, ttl time.Duration, now func() time.Time) *Issuer {
	return &Issuer{ca: ca, tb: tb, service: service, ttl: ttl, now: now}
}

// Issue implements pki.Issuer.
func (i *Issuer) Issue(ctx context.Context) (*tls.Certificate, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.err != nil {
		return nil, i.err
	}
	i.count++
	if i.override != nil {
		return i.override(), nil
	}
	start := i.now()
	return i.ca.Leaf(i.tb, i.service, start, start.Add(i.ttl)), nil
}

// SetError makes every following Issue fail with err, or succeed again when
// err is nil.
func (i *Issuer) SetError(err error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.err = err
}

// SetOverride makes every following Issue return fn(), or normal leaves again
// when fn is nil.
func (i *Issuer) SetOverride(fn func() *tls.Certificate) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.override = fn
}

// Count returns how many certificates were issued.
func (i *Issuer) Count() int {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.count
}

func newKey(tb testing.TB) *ecdsa.PrivateKey {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	return key
}

var serials struct {
	sync.Mutex
	next int64
}

func sign(tb testing.TB, tmpl, parent *x509.Certificate, pub *ecdsa.PublicKey, parentKey *ecdsa.PrivateKey) *x509.Certificate {
	tb.Helper()
	serials.Lock()
	serials.next++
	tmpl.SerialNumber = big.NewInt(serials.next<<16 | time.Now().UnixNano()&0xffff)
	serials.Unlock()
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, parentKey)
	if err != nil {
		tb.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	return cert
}
