package verify

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// memoryCA is a certificate authority that exists only in memory, so
// nothing trusts it.
type memoryCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newMemoryCA() (*memoryCA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	template := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "bulwark verify untrusted CA"},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &memoryCA{cert: cert, key: key}, nil
}

// leaf returns a certificate for server and client use that names the hosts,
// with the CA certificate as the second element of its chain.
func (ca *memoryCA) leaf(hosts ...string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		return tls.Certificate{}, err
	}
	now := time.Now()
	template := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "bulwark verify untrusted leaf"},
		NotBefore:    now.Add(-time.Minute),
		NotAfter:     now.Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			template.IPAddresses = append(template.IPAddresses, ip)
		} else if h != "" {
			template.DNSNames = append(template.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, template, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der, ca.cert.Raw}, PrivateKey: key}, nil
}

// untrustedLeaf returns a certificate from a new in-memory CA.
func untrustedLeaf(hosts ...string) (tls.Certificate, error) {
	ca, err := newMemoryCA()
	if err != nil {
		return tls.Certificate{}, err
	}
	return ca.leaf(hosts...)
}

// impostor is a TLS server on a free loopback port whose certificate names
// the real Consul's hosts but chains to an untrusted CA. It counts the HTTP
// requests that reach it, which a verifying client never sends.
type impostor struct {
	listener net.Listener
	server   *http.Server
	requests atomic.Int64
}

func startImpostor(hosts ...string) (*impostor, error) {
	cert, err := untrustedLeaf(append(hosts, "127.0.0.1")...)
	if err != nil {
		return nil, fmt.Errorf("verify: make the impostor's certificate: %w", err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
	})
	if err != nil {
		return nil, fmt.Errorf("verify: start the impostor server: %w", err)
	}
	imp := &impostor{listener: ln}
	imp.server = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			imp.requests.Add(1)
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte("[]"))
		}),
		ReadHeaderTimeout: 5 * time.Second,
		// The rejected handshakes are the expected outcome, not errors.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	go func() { _ = imp.server.Serve(ln) }()
	return imp, nil
}

func (i *impostor) address() string { return i.listener.Addr().String() }

func (i *impostor) close() { _ = i.server.Close() }
