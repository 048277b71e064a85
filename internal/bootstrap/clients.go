package bootstrap

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"time"

	consul "github.com/hashicorp/consul/api"
	vault "github.com/hashicorp/vault/api"
)

// requestTimeout bounds every request of the bootstrap to Consul or Vault.
const requestTimeout = 30 * time.Second

// tlsConfig returns a client TLS config that trusts only the root CA in
// caFile and, when certFile is set, presents that client certificate.
// Host names are verified against the address the client dials.
func tlsConfig(caFile, certFile, keyFile string) (*tls.Config, error) {
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("read CA bundle: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("CA bundle %s contains no PEM certificate", caFile)
	}
	config := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS13}
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("load client certificate %s: %w", certFile, err)
		}
		config.Certificates = []tls.Certificate{cert}
	}
	return config, nil
}

func httpClient(config *tls.Config) *http.Client {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = config
	transport.Proxy = nil // Consul and Vault are reached directly, never through a proxy from the environment.
	return &http.Client{Transport: transport, Timeout: requestTimeout}
}

// newVaultClient returns a Vault client for cfg.Vault.Address that verifies
// the server against the root CA. It overrides any VAULT_TOKEN and
// VAULT_NAMESPACE from the environment with token and the root namespace.
func newVaultClient(cfg Config, l Layout, token string) (*vault.Client, error) {
	config, err := tlsConfig(l.CACert, "", "")
	if err != nil {
		return nil, err
	}
	client, err := vault.NewClient(&vault.Config{
		Address:    cfg.Vault.Address,
		HttpClient: httpClient(config),
		Timeout:    requestTimeout,
		MaxRetries: 2,
	})
	if err != nil {
		return nil, fmt.Errorf("create Vault client for %s: %w", cfg.Vault.Address, err)
	}
	client.ClearNamespace()
	if token == "" {
		client.ClearToken()
	} else {
		client.SetToken(token)
	}
	return client, nil
}

// newConsulClient returns a Consul client for cfg.Consul.Address that
// verifies the server against the root CA and presents the operator client
// certificate, because Consul's HTTPS API requires one (verify_incoming).
func newConsulClient(cfg Config, l Layout, token string) (*consul.Client, error) {
	config, err := tlsConfig(l.CACert, l.OperatorCert, l.OperatorKey)
	if err != nil {
		return nil, err
	}
	client, err := consul.NewClient(&consul.Config{
		Address:    cfg.Consul.Address,
		Scheme:     "https",
		Datacenter: cfg.Consul.Datacenter,
		Token:      token,
		HttpClient: httpClient(config),
	})
	if err != nil {
		return nil, fmt.Errorf("create Consul client for %s: %w", cfg.Consul.Address, err)
	}
	return client, nil
}
