package pki

import (
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/platform/security/pki/pkitest"
)

func TestParseIssued(t *testing.T) {
	ca := pkitest.NewCA(t)
	leaf := ca.Leaf(t, "orders", time.Now().Add(-time.Minute), time.Now().Add(time.Hour))
	keyDER, err := x509.MarshalPKCS8PrivateKey(leaf.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := func(c *x509.Certificate) string {
		return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
	}
	keyPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
	data := map[string]any{
		"certificate": certPEM(leaf.Leaf),
		"issuing_ca":  certPEM(ca.Intermediate),
		"ca_chain":    []any{certPEM(ca.Intermediate), certPEM(ca.Root)},
		"private_key": keyPEM,
	}
	got, err := parseIssued("pki_int/issue/orders", data, nil)
	if err != nil {
		t.Fatalf("parseIssued: %v", err)
	}
	if len(got.Certificate) != 2 {
		t.Fatalf("chain length = %d, want 2 (leaf and intermediate, no root)", len(got.Certificate))
	}
	if err := VerifyLeaf(got, "orders", ca.Pool(), time.Now()); err != nil {
		t.Fatalf("VerifyLeaf of the parsed certificate: %v", err)
	}

	broken := map[string]any{"certificate": certPEM(leaf.Leaf), "private_key": "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n"}
	_, err = parseIssued("pki_int/issue/orders", broken, nil)
	if err == nil {
		t.Fatal("parseIssued of a broken key = nil, want an error")
	}
	if strings.Contains(err.Error(), "AAAA") {
		t.Fatalf("error %q contains key material", err)
	}
	if _, err := parseIssued("p", map[string]any{}, nil); err == nil {
		t.Fatal("parseIssued without certificate = nil, want an error")
	}
}

func TestNewCSRNamesService(t *testing.T) {
	key, csrPEM, err := newCSR("orders")
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(csrPEM)
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if err := csr.CheckSignature(); err != nil {
		t.Fatalf("CSR signature: %v", err)
	}
	if len(csr.URIs) != 1 || csr.URIs[0].String() != "spiffe://bulwark.internal/service/orders" {
		t.Fatalf("CSR URIs = %v", csr.URIs)
	}
	if csr.Subject.CommonName != "orders.service.bulwark.internal" {
		t.Fatalf("CSR CN = %q", csr.Subject.CommonName)
	}
	if !key.PublicKey.Equal(csr.PublicKey) {
		t.Fatal("CSR public key does not match the generated key")
	}
}
