package verify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"slices"
	"time"

	vault "github.com/hashicorp/vault/api"

	"github.com/bulwark-go/bulwark/platform/security/identity"
)

// presented is the certificate chain an instance presented, and the
// verdict of verifyChain on it.
type presented struct {
	chain    []*x509.Certificate
	identity string // service name in the leaf's URI SAN, if the chain verified
	err      error  // handshake or verification error
}

// presentedChain opens a TLS connection to inst with a valid client
// certificate and returns the chain the server presented. It accepts any
// chain during the handshake and judges it afterwards with verifyChain,
// because the certs checks must read a certificate that fails verification
// to report why it fails.
func (t *target) presentedChain(ctx context.Context, inst instance, client *tls.Certificate) presented {
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"h2", "http/1.1"},
		// Verification happens in verifyChain below, before the chain is
		// used for anything. The connection carries no request.
		InsecureSkipVerify: true, //nolint:gosec // replaced by verifyChain
	}
	if client != nil {
		cfg.Certificates = []tls.Certificate{*client}
	}
	dialer := &tls.Dialer{NetDialer: &net.Dialer{Timeout: t.timeout}, Config: cfg}
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	conn, err := dialer.DialContext(ctx, "tcp", inst.address)
	if err != nil {
		return presented{err: fmt.Errorf("TLS handshake failed: %s", t.errText(err))}
	}
	defer conn.Close()
	chain := conn.(*tls.Conn).ConnectionState().PeerCertificates
	name, err := verifyChain(chain, t.roots, time.Now())
	return presented{chain: chain, identity: name, err: err}
}

// verifyChain checks that chain[0] chains to roots through the other
// certificates of chain, for server authentication, at now, and returns
// the service identity in its URI SAN.
func verifyChain(chain []*x509.Certificate, roots *x509.CertPool, now time.Time) (string, error) {
	if len(chain) == 0 {
		return "", errors.New("the server presented no certificate")
	}
	intermediates := x509.NewCertPool()
	for _, c := range chain[1:] {
		intermediates.AddCert(c)
	}
	_, err := chain[0].Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: intermediates,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	if err != nil {
		return "", fmt.Errorf("certificate (issuer %q) does not chain to the stack's CA: %w", chain[0].Issuer.CommonName, err)
	}
	name, err := identity.FromCertificate(chain[0])
	if err != nil {
		return "", fmt.Errorf("certificate names no service identity: %w", err)
	}
	return name, nil
}

// roleLimit is the longest certificate lifetime a PKI role allows: its
// max_ttl plus the not_before_duration by which Vault backdates NotBefore.
func (t *target) roleLimit(ctx context.Context, service string) (time.Duration, error) {
	if limit, ok := t.limits[service]; ok {
		return limit, nil
	}
	token, err := readSecret(t.env.VaultTokenFile)
	if err != nil {
		return 0, err
	}
	t.secrets = append(t.secrets, token)
	api, err := t.operatorVault(token)
	if err != nil {
		return 0, err
	}
	secret, err := api.Logical().ReadWithContext(ctx, "pki_int/roles/"+service)
	if err != nil {
		return 0, fmt.Errorf("read the PKI role %s with the operator token: %s", service, t.errText(err))
	}
	if secret == nil {
		return 0, fmt.Errorf("the PKI role %s does not exist", service)
	}
	maxTTL, err := seconds(secret.Data["max_ttl"])
	if err != nil || maxTTL <= 0 {
		return 0, fmt.Errorf("the PKI role %s has no max_ttl (%v); an unbounded role is a finding", service, secret.Data["max_ttl"])
	}
	backdate, _ := seconds(secret.Data["not_before_duration"])
	t.limits[service] = maxTTL + backdate
	return t.limits[service], nil
}

// seconds converts a Vault duration field, a JSON number of seconds.
func seconds(v any) (time.Duration, error) {
	switch n := v.(type) {
	case json.Number:
		i, err := n.Int64()
		return time.Duration(i) * time.Second, err
	case float64:
		return time.Duration(n) * time.Second, nil
	}
	return 0, fmt.Errorf("not a number of seconds: %v", v)
}

// operatorVault returns a Vault client with the operator's read-only token.
func (t *target) operatorVault(token string) (*vault.Client, error) {
	cfg := &vault.Config{Address: t.env.VaultAddr, HttpClient: t.httpClient(t.tlsConfig("")), Timeout: t.timeout}
	api, err := vault.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("verify: Vault client: %w", err)
	}
	api.ClearNamespace()
	api.SetToken(token)
	return api, nil
}

// brokerService is the name under which go-micro's HTTP broker registers
// each subscription. Its instances serve a subscribing service's identity.
const brokerService = "micro.http.broker"

// checkCerts checks the certificate every catalog instance presents.
func (t *target) checkCerts(ctx context.Context, instances []instance) []Result {
	const group = "certs"
	names, err := t.services()
	if err != nil {
		return []Result{fail(group, "AppRoles found", err.Error())}
	}
	client, err := t.certificate(ctx, names[0])
	if err != nil {
		return []Result{fail(group, "client certificate issued", err.Error())}
	}
	var results []Result
	for _, inst := range instances {
		results = append(results, t.checkCert(ctx, inst, client, names))
	}
	return results
}

func (t *target) checkCert(ctx context.Context, inst instance, client *tls.Certificate, names []string) Result {
	check := "certificate valid (" + inst.String() + ")"
	p := t.presentedChain(ctx, inst, client)
	if p.err != nil {
		return fail("certs", check, p.err.Error())
	}
	leaf := p.chain[0]
	want := inst.service
	if inst.service == brokerService {
		if !slices.Contains(names, p.identity) {
			return fail("certs", check, fmt.Sprintf("broker certificate names %q, not a service of the stack", identity.URI(p.identity)))
		}
		want = p.identity
	}
	if p.identity != want {
		return fail("certs", check, fmt.Sprintf("certificate names %s, want %s", identity.URI(p.identity), identity.URI(want)))
	}
	limit, err := t.roleLimit(ctx, want)
	if err != nil {
		return fail("certs", check, err.Error())
	}
	lifetime := leaf.NotAfter.Sub(leaf.NotBefore)
	evidence := fmt.Sprintf("%s, issuer %q, lifetime %s (role max %s), expires %s", identity.URI(p.identity),
		leaf.Issuer.CommonName, lifetime, limit, leaf.NotAfter.UTC().Format(time.RFC3339))
	if lifetime > limit {
		return fail("certs", check, "lifetime exceeds the role maximum: "+evidence)
	}
	return pass("certs", check, evidence)
}

// certificate returns a certificate of service issued from Vault, issuing
// it once per run.
func (t *target) certificate(ctx context.Context, service string) (*tls.Certificate, error) {
	if c, ok := t.certs[service]; ok {
		return c, nil
	}
	c, err := t.issue(ctx, service)
	if err != nil {
		return nil, err
	}
	t.certs[service] = c
	return c, nil
}
