package registry

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"log/slog"
	"math/big"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	grpcserver "github.com/go-micro/plugins/v4/server/grpc"
	"github.com/google/uuid"
	consulapi "github.com/hashicorp/consul/api"
	vault "github.com/hashicorp/vault/api"
	micro "go-micro.dev/v4"
	"go-micro.dev/v4/server"

	"github.com/bulwark-go/bulwark/internal/testenv"
	"github.com/bulwark-go/bulwark/platform/security/identity"
	"github.com/bulwark-go/bulwark/platform/security/vaultclient"
)

// Short registration timing for integration tests, so a lost registration
// shows within seconds.
const (
	testRegisterTTL      = 4 * time.Second
	testRegisterInterval = time.Second
)

// vaultFor logs in to Vault with the service's AppRole.
func vaultFor(t *testing.T, env *testenv.Env, name string, log *slog.Logger) *vault.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	role := env.AppRoles[name]
	c, err := vaultclient.New(ctx, vaultclient.Config{
		Address:      env.VaultAddr,
		CAFile:       env.CAFile,
		RoleIDFile:   role.RoleIDFile,
		SecretIDFile: role.SecretIDFile,
		Logger:       log,
	})
	if err != nil {
		t.Fatalf("vaultclient.New(%s): %v", name, err)
	}
	t.Cleanup(c.Close)
	return c.API()
}

// serviceTLS returns a TLS config for the Consul link that trusts the root CA
// and presents a leaf that Vault's PKI issued for the service.
func serviceTLS(t *testing.T, env *testenv.Env, client *vault.Client, name string) *tls.Config {
	t.Helper()
	cert := issueLeaf(t, client, name)
	return &tls.Config{
		RootCAs:    env.CAPool,
		MinVersion: tls.VersionTLS12,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return &cert, nil
		},
	}
}

// issueLeaf issues a leaf certificate from the service's own PKI role.
func issueLeaf(t *testing.T, client *vault.Client, name string) tls.Certificate {
	t.Helper()
	s, err := client.Logical().Write("pki_int/issue/"+name, map[string]any{
		"common_name": identity.DNSName(name),
		"uri_sans":    identity.URI(name),
	})
	if err != nil {
		t.Fatalf("issue a certificate for %s: %v", name, err)
	}
	certPEM, _ := s.Data["certificate"].(string)
	keyPEM, _ := s.Data["private_key"].(string)
	chain := certPEM
	if ca, ok := s.Data["issuing_ca"].(string); ok {
		chain += "\n" + ca
	}
	cert, err := tls.X509KeyPair([]byte(chain), []byte(keyPEM))
	if err != nil {
		t.Fatalf("parse the certificate of %s: %v", name, err)
	}
	return cert
}

// newTestRegistry starts a Registry for the service with its own AppRole.
func newTestRegistry(t *testing.T, env *testenv.Env, name string, log *slog.Logger) *Registry {
	t.Helper()
	client := vaultFor(t, env, name, log)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	reg, err := New(ctx, Options{
		Service:          name,
		Address:          env.ConsulAddr,
		TLSConfig:        serviceTLS(t, env, client, name),
		Vault:            client,
		RegisterTTL:      testRegisterTTL,
		RegisterInterval: testRegisterInterval,
		Logger:           log,
	})
	if err != nil {
		t.Fatalf("New(%s): %v", name, err)
	}
	t.Cleanup(func() { _ = reg.Close() })
	return reg
}

// operatorConsul returns a Consul API client with the management token, to
// inspect the catalog and ACLs from outside the services.
func operatorConsul(t *testing.T, env *testenv.Env) *consulapi.Client {
	t.Helper()
	return consulClient(t, env, env.OperatorTLSConfig(t), readFile(t, env.ConsulManagementTokenFile))
}

// consulClient returns a Consul API client for the harness's Consul.
func consulClient(t *testing.T, env *testenv.Env, tlsConfig *tls.Config, token string) *consulapi.Client {
	t.Helper()
	c, err := consulapi.NewClient(&consulapi.Config{
		Address:    env.ConsulAddr,
		Scheme:     "https",
		Token:      token,
		HttpClient: &http.Client{Transport: &http.Transport{TLSClientConfig: tlsConfig}, Timeout: 10 * time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(data))
}

// startStopper is the part of go-micro's service type that Run uses, which
// the micro.Service interface does not export.
type startStopper interface {
	Start() error
	Stop() error
}

// startService starts a go-micro gRPC server named name with the registry's
// ServiceOptions and returns it with its node ID. The server runs without
// TLS, because these tests are about the registry link.
func startService(t *testing.T, reg *Registry, name string) (startStopper, string, error) {
	t.Helper()
	id := uuid.NewString()
	srv := grpcserver.NewServer(server.Name(name), server.Id(id), server.Address("127.0.0.1:0"))
	opts := append([]micro.Option{micro.Server(srv), micro.Name(name)}, reg.ServiceOptions()...)
	svc, ok := micro.NewService(opts...).(startStopper)
	if !ok {
		t.Fatal("go-micro's service type has no Start and Stop methods")
	}
	err := svc.Start()
	t.Cleanup(func() { _ = svc.Stop() })
	return svc, name + "-" + id, err
}

// catalogStatus returns the aggregated health of the node in Consul's
// catalog: "passing", "warning", "critical", or "" when the node is absent.
func catalogStatus(t *testing.T, c *consulapi.Client, service, nodeID string) string {
	t.Helper()
	entries, _, err := c.Health().Service(service, "", false, nil)
	if err != nil {
		t.Logf("catalog lookup of %s: %v", service, err)
		return ""
	}
	for _, e := range entries {
		if e.Service.ID == nodeID {
			return e.Checks.AggregatedStatus()
		}
	}
	return ""
}

// agentHasService reports whether the Consul agent itself holds the service
// ID in its local state, which it loses when it restarts without its saved
// services, while the catalog may still list the node for a moment.
func agentHasService(t *testing.T, c *consulapi.Client, serviceID string) bool {
	t.Helper()
	services, err := c.Agent().Services()
	if err != nil {
		t.Logf("agent services: %v", err)
		return false
	}
	_, ok := services[serviceID]
	return ok
}

// waitFor polls cond every 100 ms until it holds or the timeout passes.
func waitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// newSelfSignedCA returns a CA certificate and key that nothing in the
// harness trusts.
func newSelfSignedCA(t *testing.T) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "untrusted test CA"},
		NotBefore:             time.Now().Add(-time.Minute),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}
