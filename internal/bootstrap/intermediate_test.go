package bootstrap

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"
)

// testIntermediate signs an intermediate for a fresh key, the way Vault's
// CSR is signed, and returns it with its key.
func testIntermediate(t *testing.T, ca *authority) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	csrDER, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: "anything Vault puts here"},
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	csrPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csrDER})
	certPEM, err := signIntermediate(ca, string(csrPEM), DefaultIntermediateTTL, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := parseCertPEM(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// issueFrom signs a leaf (or a CA when isCA) with the given names.
func issueFrom(t *testing.T, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, isCA bool,
	dns []string, ips []net.IP, uris []string) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var parsed []*url.URL
	for _, u := range uris {
		p, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		parsed = append(parsed, p)
	}
	template := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "leaf"},
		NotBefore:             fixedNow.Add(-time.Minute),
		NotAfter:              fixedNow.Add(time.Hour),
		DNSNames:              dns,
		IPAddresses:           ips,
		URIs:                  parsed,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  isCA,
	}
	if isCA {
		template.KeyUsage |= x509.KeyUsageCertSign
	}
	der, err := x509.CreateCertificate(rand.Reader, template, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func TestIntermediateNameConstraints(t *testing.T) {
	ca, err := newAuthority(fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	intermediate, intermediateKey := testIntermediate(t, ca)
	if !intermediate.IsCA || intermediate.MaxPathLen != 0 || !intermediate.MaxPathLenZero {
		t.Fatalf("intermediate: IsCA=%v MaxPathLen=%d, want a CA that may sign only leaves", intermediate.IsCA, intermediate.MaxPathLen)
	}
	verify := func(leaf *x509.Certificate, extra ...*x509.Certificate) error {
		intermediates := x509.NewCertPool()
		intermediates.AddCert(intermediate)
		for _, c := range extra {
			intermediates.AddCert(c)
		}
		_, err := leaf.Verify(x509.VerifyOptions{
			Roots: ca.pool(), Intermediates: intermediates, CurrentTime: fixedNow,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		})
		return err
	}

	tests := []struct {
		desc    string
		dns     []string
		ips     []net.IP
		uris    []string
		wantErr string
	}{
		{desc: "service names", dns: []string{"orders.service.bulwark.internal"},
			uris: []string{"spiffe://bulwark.internal/service/orders"}},
		{desc: "Consul server name", dns: []string{"server.dc1.consul"},
			uris: []string{"spiffe://bulwark.internal/service/orders"}, wantErr: "not permitted"},
		{desc: "Vault host name", dns: []string{"vault"}, wantErr: "not permitted"},
		{desc: "the trust domain itself", dns: []string{"bulwark.internal"}, wantErr: "not permitted"},
		{desc: "IP SAN", dns: []string{"orders.service.bulwark.internal"}, ips: []net.IP{net.IPv4(127, 0, 0, 1)},
			wantErr: "excluded"},
		{desc: "IPv6 SAN", ips: []net.IP{net.IPv6loopback}, wantErr: "excluded"},
		{desc: "other trust domain", uris: []string{"spiffe://evil.example/service/orders"}, wantErr: "not permitted"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			leaf, _ := issueFrom(t, intermediate, intermediateKey, false, tt.dns, tt.ips, tt.uris)
			err := verify(leaf)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("verify: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("verify error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}

	t.Run("sub-CA", func(t *testing.T) {
		subCA, subKey := issueFrom(t, intermediate, intermediateKey, true, nil, nil, nil)
		leaf, _ := issueFrom(t, subCA, subKey, false, []string{"orders.service.bulwark.internal"}, nil, nil)
		if err := verify(leaf, subCA); err == nil {
			t.Fatal("a leaf of a CA under the intermediate verifies; the intermediate must sign leaves only")
		}
	})
}

func TestSignIntermediateRejectsBadCSR(t *testing.T) {
	ca, err := newAuthority(fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desc, csr, wantErr string
	}{
		{"empty", "", "no PEM CERTIFICATE REQUEST"},
		{"certificate instead", string(ca.certPEM), "no PEM CERTIFICATE REQUEST"},
		{"garbage", "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n", "parse intermediate CSR"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			_, err := signIntermediate(ca, tt.csr, time.Hour, fixedNow)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestIntermediateCurrent(t *testing.T) {
	ca, err := newAuthority(fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	intermediate, _ := testIntermediate(t, ca)
	certPEM := string(encodeCert(intermediate.Raw))
	other, err := newAuthority(fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desc string
		ca   *authority
		now  time.Time
		want bool
	}{
		{"fresh", ca, fixedNow, true},
		{"other root", other, fixedNow, false},
		{"due for renewal", ca, fixedNow.Add(DefaultIntermediateTTL * 3 / 4), false},
		{"expired", ca, fixedNow.Add(DefaultIntermediateTTL + time.Hour), false},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if got := intermediateCurrent(tt.ca, certPEM, time.Hour, tt.now); got != tt.want {
				t.Fatalf("intermediateCurrent() = %v, want %v", got, tt.want)
			}
		})
	}
	if intermediateCurrent(ca, "not PEM", time.Hour, fixedNow) {
		t.Error("garbage counts as a current intermediate")
	}
}
