package bootstrap

import (
	"crypto/ecdsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/bulwark-go/bulwark/platform/security/identity"
)

// intermediateCommonName is the subject of Vault's PKI intermediate.
const intermediateCommonName = "Bulwark Services Intermediate CA"

// signIntermediate signs the CSR that Vault generated for its PKI
// intermediate. The root key stays in the state directory, and Vault receives
// only the signed certificate.
//
// The intermediate may issue only leaves (path length 0), and its name
// constraints limit it to the service names of the trust domain: DNS names
// under service.bulwark.internal and URIs of host bulwark.internal, and no IP
// address at all. A verifier that honours name constraints (Go's
// crypto/x509, OpenSSL) rejects a leaf for the Consul or Vault server names
// even if a PKI role were misconfigured to issue one.
func signIntermediate(ca *authority, csrPEM string, ttl time.Duration, now time.Time) ([]byte, error) {
	block, _ := pem.Decode([]byte(csrPEM))
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		return nil, errors.New("Vault returned no PEM CERTIFICATE REQUEST")
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse intermediate CSR: %w", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("intermediate CSR signature: %w", err)
	}
	pub, ok := csr.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("intermediate CSR has a %T key; the PKI engine must generate ECDSA P-256", csr.PublicKey)
	}
	template := &x509.Certificate{
		Subject:                     pkix.Name{CommonName: intermediateCommonName, Organization: []string{"Bulwark"}},
		NotBefore:                   now.Add(-time.Minute),
		NotAfter:                    now.Add(ttl),
		KeyUsage:                    x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid:       true,
		IsCA:                        true,
		MaxPathLen:                  0,
		MaxPathLenZero:              true,
		AuthorityKeyId:              ca.cert.SubjectKeyId,
		PermittedDNSDomainsCritical: true,
		PermittedDNSDomains:         []string{"." + serviceDomain},
		PermittedURIDomains:         []string{identity.TrustDomain},
		ExcludedIPRanges: []*net.IPNet{
			{IP: net.IPv4zero.To4(), Mask: net.CIDRMask(0, 32)},
			{IP: net.IPv6zero, Mask: net.CIDRMask(0, 128)},
		},
	}
	der, err := ca.sign(template, pub)
	if err != nil {
		return nil, err
	}
	return encodeCert(der), nil
}

// serviceDomain is the DNS domain under which every service DNS SAN lies.
var serviceDomain = "service." + identity.TrustDomain

// intermediateCurrent reports whether certPEM is an intermediate signed by
// the root with more than a third of its lifetime and more than leafTTL
// left, so that every leaf it issues can get its full TTL.
func intermediateCurrent(ca *authority, certPEM string, leafTTL time.Duration, now time.Time) bool {
	cert, err := parseCertPEM([]byte(certPEM))
	if err != nil || !cert.IsCA {
		return false
	}
	if cert.CheckSignatureFrom(ca.cert) != nil {
		return false
	}
	left := cert.NotAfter.Sub(now)
	return left > cert.NotAfter.Sub(cert.NotBefore)/renewBefore && left > leafTTL
}
