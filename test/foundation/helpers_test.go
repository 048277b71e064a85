package foundation_test

import (
	"crypto/tls"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	consul "github.com/hashicorp/consul/api"
	vault "github.com/hashicorp/vault/api"

	"github.com/bulwark-go/bulwark/internal/testenv"
)

// readSecret returns the trimmed contents of a secret file.
func readSecret(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(data))
}

// vaultClient returns a Vault client that verifies Vault against the root
// CA and uses token.
func vaultClient(t *testing.T, env *testenv.Env, token string) *vault.Client {
	t.Helper()
	transport := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: env.CAPool, MinVersion: tls.VersionTLS12}}
	client, err := vault.NewClient(&vault.Config{
		Address:    env.VaultAddr,
		HttpClient: &http.Client{Transport: transport, Timeout: 10 * time.Second},
		MaxRetries: 0,
	})
	if err != nil {
		t.Fatal(err)
	}
	client.SetToken(token)
	return client
}

// login logs in with the AppRole credentials of service and returns a
// client carrying the service's token.
func login(t *testing.T, env *testenv.Env, service string) *vault.Client {
	t.Helper()
	role := env.AppRoles[service]
	client := vaultClient(t, env, "")
	client.ClearToken()
	secret, err := client.Logical().Write("auth/approle/login", map[string]any{
		"role_id":   readSecret(t, role.RoleIDFile),
		"secret_id": readSecret(t, role.SecretIDFile),
	})
	if err != nil {
		t.Fatalf("AppRole login of %s: %v", service, err)
	}
	if secret == nil || secret.Auth == nil || secret.Auth.ClientToken == "" {
		t.Fatalf("AppRole login of %s returned no token", service)
	}
	client.SetToken(secret.Auth.ClientToken)
	return client
}

// consulClient returns a Consul client that verifies Consul against the
// root CA, presents the operator certificate and uses token.
func consulClient(t *testing.T, env *testenv.Env, token string) *consul.Client {
	t.Helper()
	transport := &http.Transport{TLSClientConfig: env.OperatorTLSConfig(t)}
	client, err := consul.NewClient(&consul.Config{
		Address:    env.ConsulAddr,
		Scheme:     "https",
		Token:      token,
		HttpClient: &http.Client{Transport: transport, Timeout: 10 * time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	return client
}

// statusCode returns the HTTP status of a Vault or Consul API error, or 0.
func statusCode(err error) int {
	var vaultErr *vault.ResponseError
	if errors.As(err, &vaultErr) {
		return vaultErr.StatusCode
	}
	var consulErr consul.StatusError
	if errors.As(err, &consulErr) {
		return consulErr.Code
	}
	return 0
}
