package verify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	consul "github.com/hashicorp/consul/api"

	"github.com/bulwark-go/bulwark/internal/bootstrap"
	"github.com/bulwark-go/bulwark/platform/security/pki"
	"github.com/bulwark-go/bulwark/platform/security/vaultclient"
)

// target is the stack under audit: its addresses, the operator's
// credentials, and the services' Vault logins made so far.
type target struct {
	env     Env
	scope   scope
	timeout time.Duration
	layout  bootstrap.Layout

	roots        *x509.CertPool  // CA bundle of the stack
	operatorCert tls.Certificate // operator client certificate from the state directory
	consulToken  string          // read-only operator token
	vaultAddr    string          // host:port of Vault
	gatewayAddr  string          // host:port of the gateway
	logins       map[string]*vaultclient.Client
	certs        map[string]*tls.Certificate // issued from Vault, by service
	limits       map[string]time.Duration    // certificate lifetime limits, by service
	secrets      []string                    // every credential read, removed from evidence
}

func newTarget(env Env, timeout time.Duration) (*target, error) {
	sc, err := newScope(env.ConsulAddr)
	if err != nil {
		return nil, err
	}
	if err := sc.check("Consul", env.ConsulAddr); err != nil {
		return nil, err
	}
	t := &target{env: env, scope: sc, timeout: timeout, layout: bootstrap.NewLayout(env.StateDir),
		logins: map[string]*vaultclient.Client{}, certs: map[string]*tls.Certificate{}, limits: map[string]time.Duration{}}
	if t.vaultAddr, err = sc.checkURL("VAULT_ADDR", env.VaultAddr); err != nil {
		return nil, err
	}
	if t.gatewayAddr, err = sc.checkURL("BULWARK_GATEWAY_URL", env.GatewayURL); err != nil {
		return nil, err
	}
	if t.roots, err = vaultclient.LoadCAFile(env.ConsulCAFile); err != nil {
		return nil, fmt.Errorf("verify: CONSUL_CACERT: %w", err)
	}
	if t.operatorCert, err = tls.LoadX509KeyPair(env.ConsulCertFile, env.ConsulKeyFile); err != nil {
		return nil, fmt.Errorf("verify: load the operator certificate %s: %w", env.ConsulCertFile, err)
	}
	if t.consulToken, err = readSecret(env.ConsulTokenFile); err != nil {
		return nil, err
	}
	t.secrets = append(t.secrets, t.consulToken)
	return t, nil
}

// close stops the Vault clients. Their tokens expire at the end of their
// TTL: the service policies do not grant revoke-self.
func (t *target) close() {
	for _, c := range t.logins {
		c.Close()
	}
}

// readSecret reads a credential file. The error names the file, never its
// content.
func readSecret(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("verify: read %w", err)
	}
	value := strings.TrimSpace(string(data))
	if value == "" {
		return "", fmt.Errorf("verify: %s is empty", path)
	}
	return value, nil
}

// clean removes every known credential from text and makes it one line.
func (t *target) clean(text string) string {
	for _, s := range t.secrets {
		if s != "" {
			text = strings.ReplaceAll(text, s, "[redacted]")
		}
	}
	return oneLine(text)
}

// errText describes err without credentials.
func (t *target) errText(err error) string { return t.clean(err.Error()) }

// tlsConfig returns a client config that trusts the stack's CA only.
func (t *target) tlsConfig(serverName string) *tls.Config {
	return &tls.Config{RootCAs: t.roots, ServerName: serverName, MinVersion: tls.VersionTLS12}
}

// httpClient returns a client that ignores proxy settings and keeps no
// connection, so every request goes straight to the address under test.
func (t *target) httpClient(cfg *tls.Config) *http.Client {
	return &http.Client{
		Timeout:       t.timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{
			Proxy:             nil,
			TLSClientConfig:   cfg,
			DisableKeepAlives: true,
			DialContext:       (&net.Dialer{Timeout: t.timeout}).DialContext,
		},
	}
}

// vault returns a Vault client logged in with the AppRole of service, read
// from the state directory.
func (t *target) vault(ctx context.Context, service string) (*vaultclient.Client, error) {
	if c, ok := t.logins[service]; ok {
		return c, nil
	}
	c, err := vaultclient.New(ctx, vaultclient.Config{
		Address:        t.env.VaultAddr,
		CAFile:         t.env.VaultCAFile,
		RoleIDFile:     t.layout.ServiceRoleID(service),
		SecretIDFile:   t.layout.ServiceSecretID(service),
		RequestTimeout: t.timeout,
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		return nil, fmt.Errorf("log in to Vault with the AppRole of %s: %s", service, t.errText(err))
	}
	t.secrets = append(t.secrets, c.API().Token())
	t.logins[service] = c
	return c, nil
}

// serviceConsulToken reads a Consul token for service from Vault's Consul
// secrets engine with the service's AppRole, as the service does at start.
//
// NOTE: each run creates one Consul token per service and cannot revoke
// it, because the service policies grant only renewal. The tokens expire
// with their lease (the Consul role's ttl).
func (t *target) serviceConsulToken(ctx context.Context, service string) (string, error) {
	c, err := t.vault(ctx, service)
	if err != nil {
		return "", err
	}
	secret, err := c.API().Logical().ReadWithContext(ctx, "consul/creds/"+service)
	if err != nil {
		return "", fmt.Errorf("read the Consul token of %s from Vault: %s", service, t.errText(err))
	}
	token, _ := secret.Data["token"].(string)
	if token == "" {
		return "", fmt.Errorf("Vault returned no Consul token for %s", service)
	}
	t.secrets = append(t.secrets, token, secret.LeaseID)
	return token, nil
}

// issue obtains a certificate of service's identity from Vault with the
// service's AppRole.
func (t *target) issue(ctx context.Context, service string) (*tls.Certificate, error) {
	c, err := t.vault(ctx, service)
	if err != nil {
		return nil, err
	}
	issuer, err := pki.NewVaultIssuer(c.API(), service)
	if err != nil {
		return nil, err
	}
	cert, err := issuer.Issue(ctx)
	if err != nil {
		return nil, fmt.Errorf("issue a certificate of %s from Vault: %s", service, t.errText(err))
	}
	return cert, nil
}

// instance is one service instance of the Consul catalog.
type instance struct {
	service string
	id      string
	address string // host:port
}

func (i instance) String() string { return i.service + " " + i.address }

// catalog lists every service instance in Consul except Consul itself,
// with the operator's read-only token. An instance outside the scope is an
// error: verify sends it nothing.
func (t *target) catalog(ctx context.Context) ([]instance, error) {
	client, err := consul.NewClient(&consul.Config{
		Address:    t.env.ConsulAddr,
		Scheme:     "https",
		Token:      t.consulToken,
		HttpClient: t.httpClient(t.operatorTLS(consulServerName(t.env.ConsulAddr))),
	})
	if err != nil {
		return nil, fmt.Errorf("verify: Consul client: %w", err)
	}
	q := (&consul.QueryOptions{}).WithContext(ctx)
	services, _, err := client.Catalog().Services(q)
	if err != nil {
		return nil, fmt.Errorf("verify: list the Consul catalog: %s", t.errText(err))
	}
	var out []instance
	for _, name := range slices.Sorted(maps.Keys(services)) {
		if name == "consul" {
			continue
		}
		entries, _, err := client.Catalog().Service(name, "", q)
		if err != nil {
			return nil, fmt.Errorf("verify: list the instances of %s: %s", name, t.errText(err))
		}
		for _, e := range entries {
			host := e.ServiceAddress
			if host == "" {
				host = e.Address
			}
			addr := net.JoinHostPort(host, fmt.Sprint(e.ServicePort))
			if err := t.scope.check("catalog instance "+e.ServiceID, addr); err != nil {
				return nil, err
			}
			// go-micro's HTTP broker registers one entry per subscription,
			// all at the same address: attack each server once.
			if slices.ContainsFunc(out, func(i instance) bool { return i.service == name && i.address == addr }) {
				continue
			}
			out = append(out, instance{service: name, id: e.ServiceID, address: addr})
		}
	}
	return out, nil
}

// operatorTLS returns a client config that presents the operator
// certificate.
func (t *target) operatorTLS(serverName string) *tls.Config {
	cfg := t.tlsConfig(serverName)
	cfg.Certificates = []tls.Certificate{t.operatorCert}
	return cfg
}

// consulServerName returns the host of addr, which Consul's certificate
// carries as an IP SAN in both stacks.
func consulServerName(addr string) string {
	host, _, _ := net.SplitHostPort(addr)
	return host
}
