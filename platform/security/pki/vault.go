package pki

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"strings"

	vault "github.com/hashicorp/vault/api"

	"github.com/bulwark-go/bulwark/platform/security/identity"
)

// DefaultMount is the mount path of Vault's intermediate PKI engine.
const DefaultMount = "pki_int"

// Method selects how VaultIssuer obtains a certificate.
type Method int

const (
	// MethodIssue calls <mount>/issue/<service>: Vault generates the
	// private key and returns it in the response. It needs only the issue
	// capability that each service's Vault policy grants.
	MethodIssue Method = iota
	// MethodSign generates the private key in the process and calls
	// <mount>/sign/<service> with a CSR, so the key never leaves the
	// process. It needs the update capability on that path in the
	// service's Vault policy.
	MethodSign
)

// VaultIssuer issues a service's certificates from its own role of Vault's
// PKI engine.
type VaultIssuer struct {
	api     *vault.Client
	service string
	mount   string
	method  Method
}

// VaultOption configures a VaultIssuer.
type VaultOption interface{ apply(*VaultIssuer) }

type vaultOptionFunc func(*VaultIssuer)

func (f vaultOptionFunc) apply(v *VaultIssuer) { f(v) }

// WithMount sets the mount path of the PKI engine. The default is
// DefaultMount.
func WithMount(mount string) VaultOption {
	return vaultOptionFunc(func(v *VaultIssuer) { v.mount = strings.Trim(mount, "/") })
}

// WithMethod sets how certificates are obtained. The default is MethodIssue.
func WithMethod(m Method) VaultOption {
	return vaultOptionFunc(func(v *VaultIssuer) { v.method = m })
}

// NewVaultIssuer returns an issuer for the PKI role named after service.
// api must be authenticated, for example by vaultclient.Client.
func NewVaultIssuer(api *vault.Client, service string, opts ...VaultOption) (*VaultIssuer, error) {
	if api == nil {
		return nil, errors.New("pki: Vault client is nil")
	}
	if err := identity.ValidateName(service); err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	v := &VaultIssuer{api: api, service: service, mount: DefaultMount}
	for _, o := range opts {
		o.apply(v)
	}
	if v.mount == "" {
		return nil, fmt.Errorf("pki: PKI mount is empty; use %q", DefaultMount)
	}
	if v.method != MethodIssue && v.method != MethodSign {
		return nil, fmt.Errorf("pki: unknown issue method %d", v.method)
	}
	return v, nil
}

// Issue obtains a new certificate for the service's identity: the DNS SAN
// as common name and the URI SAN, with the role's TTL.
func (v *VaultIssuer) Issue(ctx context.Context) (*tls.Certificate, error) {
	data := map[string]any{
		"common_name":          identity.DNSName(v.service),
		"uri_sans":             identity.URI(v.service),
		"format":               "pem",
		"exclude_cn_from_sans": false,
	}
	var key *ecdsa.PrivateKey
	path := v.mount + "/issue/" + v.service
	if v.method == MethodSign {
		path = v.mount + "/sign/" + v.service
		var csrPEM []byte
		var err error
		key, csrPEM, err = newCSR(v.service)
		if err != nil {
			return nil, err
		}
		data["csr"] = string(csrPEM)
	} else {
		data["private_key_format"] = "pkcs8"
	}
	secret, err := v.api.Logical().WriteWithContext(ctx, path, data)
	if err != nil {
		return nil, fmt.Errorf("pki: write %s: %w", path, err)
	}
	if secret == nil || secret.Data == nil {
		return nil, fmt.Errorf("pki: %s returned no data", path)
	}
	return parseIssued(path, secret.Data, key)
}

// newCSR generates an ECDSA P-256 key and a CSR for the service's names.
func newCSR(service string) (*ecdsa.PrivateKey, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: generate key: %w", err)
	}
	uri, err := url.Parse(identity.URI(service))
	if err != nil {
		return nil, nil, fmt.Errorf("pki: parse URI SAN: %w", err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject:  pkix.Name{CommonName: identity.DNSName(service)},
		DNSNames: []string{identity.DNSName(service)},
		URIs:     []*url.URL{uri},
	}, key)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: create CSR: %w", err)
	}
	return key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), nil
}

// parseIssued builds a tls.Certificate from the response of the issue or
// sign endpoint. key is the locally generated key of MethodSign, or nil when
// the response carries the key. Errors never include the private key.
func parseIssued(path string, data map[string]any, key *ecdsa.PrivateKey) (*tls.Certificate, error) {
	leafPEM, _ := data["certificate"].(string)
	leaf, err := parseOneCert(leafPEM)
	if err != nil {
		return nil, fmt.Errorf("pki: %s returned an invalid certificate field: %w", path, err)
	}
	cert := &tls.Certificate{Certificate: [][]byte{leaf.Raw}, Leaf: leaf}
	for _, ca := range chainFrom(data) {
		// Roots are trust anchors from the CA bundle; sending them would
		// only lengthen the handshake.
		if isSelfSigned(ca) {
			continue
		}
		cert.Certificate = append(cert.Certificate, ca.Raw)
	}
	if key != nil {
		cert.PrivateKey = key
		return cert, nil
	}
	keyPEM, _ := data["private_key"].(string)
	block, _ := pem.Decode([]byte(keyPEM))
	if block == nil {
		return nil, fmt.Errorf("pki: %s returned no PEM private_key field", path)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("pki: %s returned a private key that is not PKCS #8", path)
	}
	cert.PrivateKey = parsed
	return cert, nil
}

// chainFrom returns the CA certificates of the response: ca_chain when
// present, issuing_ca otherwise. Unparseable entries are skipped, and the
// chain is verified afterwards.
func chainFrom(data map[string]any) []*x509.Certificate {
	var pems []string
	if list, ok := data["ca_chain"].([]any); ok {
		for _, item := range list {
			if s, ok := item.(string); ok {
				pems = append(pems, s)
			}
		}
	}
	if len(pems) == 0 {
		if s, ok := data["issuing_ca"].(string); ok {
			pems = append(pems, s)
		}
	}
	var certs []*x509.Certificate
	for _, p := range pems {
		rest := []byte(p)
		for {
			var block *pem.Block
			block, rest = pem.Decode(rest)
			if block == nil {
				break
			}
			if c, err := x509.ParseCertificate(block.Bytes); err == nil {
				certs = append(certs, c)
			}
		}
	}
	return certs
}

func parseOneCert(p string) (*x509.Certificate, error) {
	block, _ := pem.Decode([]byte(p))
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("no PEM certificate")
	}
	return x509.ParseCertificate(block.Bytes)
}

func isSelfSigned(c *x509.Certificate) bool {
	return c.CheckSignatureFrom(c) == nil
}
