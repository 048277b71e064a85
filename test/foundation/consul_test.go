package foundation_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	consul "github.com/hashicorp/consul/api"

	"github.com/bulwark-go/bulwark/internal/testenv"
)

func consulTests(t *testing.T, env *testenv.Env) {
	management := readSecret(t, env.ConsulManagementTokenFile)

	t.Run("plaintext HTTP rejected", func(t *testing.T) {
		client := &http.Client{Timeout: 5 * time.Second}
		response, err := client.Get("http://" + env.ConsulAddr + "/v1/status/leader")
		if err != nil {
			return // The connection was closed: rejected.
		}
		defer response.Body.Close()
		body, _ := io.ReadAll(response.Body)
		if response.StatusCode != http.StatusBadRequest {
			t.Fatalf("plain HTTP got %d %q, want 400 from the TLS listener", response.StatusCode, body)
		}
	})

	t.Run("plain HTTP, DNS, gRPC and WAN ports off", func(t *testing.T) {
		self, err := consulClient(t, env, management).Agent().Self()
		if err != nil {
			t.Fatal(err)
		}
		debug := self["DebugConfig"]
		for _, key := range []string{"HTTPPort", "DNSPort", "GRPCPort", "GRPCTLSPort", "SerfPortWAN"} {
			if got, ok := debug[key].(float64); !ok || got != -1 {
				t.Errorf("%s = %v, want -1", key, debug[key])
			}
		}
		for _, key := range []string{"ACLsEnabled", "EnableRemoteScriptChecks", "EnableLocalScriptChecks"} {
			want := key == "ACLsEnabled"
			if debug[key] != want {
				t.Errorf("%s = %v, want %v", key, debug[key], want)
			}
		}
	})

	t.Run("gossip encrypted", func(t *testing.T) {
		self, err := consulClient(t, env, management).Agent().Self()
		if err != nil {
			t.Fatal(err)
		}
		serf, _ := self["Stats"]["serf_lan"].(map[string]any)
		if serf["encrypted"] != "true" {
			t.Fatalf("serf_lan encrypted = %v, want true", serf["encrypted"])
		}
	})

	t.Run("agent token set and persisted", func(t *testing.T) {
		agentToken := readSecret(t, env.Layout.ConsulAgentToken)
		token, _, err := consulClient(t, env, agentToken).ACL().TokenReadSelf(nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(token.Policies) != 1 || token.Policies[0].Name != "bulwark-agent" {
			t.Errorf("agent token policies = %v, want only bulwark-agent", token.Policies)
		}
		// enable_token_persistence stores tokens set through the agent API
		// in acl-tokens.json of the data directory.
		data, err := os.ReadFile(filepath.Join(env.Layout.ConsulDataDir, "acl-tokens.json"))
		if err != nil {
			t.Fatalf("persisted agent token: %v", err)
		}
		var persisted struct {
			Agent string `json:"agent"`
		}
		if err := json.Unmarshal(data, &persisted); err != nil {
			t.Fatal(err)
		}
		if persisted.Agent != agentToken {
			t.Error("the agent's persisted token is not the bootstrap's agent token")
		}
	})

	t.Run("TLS 1.2 rejected", func(t *testing.T) {
		config := env.OperatorTLSConfig(t)
		config.MaxVersion = tls.VersionTLS12
		conn, err := tls.Dial("tcp", env.ConsulAddr, config)
		if err == nil {
			conn.Close()
			t.Fatal("Consul accepted a TLS 1.2 handshake; its minimum is TLS 1.3")
		}
	})

	t.Run("client without certificate rejected", func(t *testing.T) {
		err := consulGet(env, &tls.Config{RootCAs: env.CAPool})
		if err == nil {
			t.Fatal("Consul answered a client without a certificate")
		}
		if !strings.Contains(err.Error(), "certificate required") && !strings.Contains(err.Error(), "bad certificate") {
			t.Logf("rejected with %v", err)
		}
	})

	t.Run("certificate from another CA rejected", func(t *testing.T) {
		err := consulGet(env, &tls.Config{RootCAs: env.CAPool, Certificates: []tls.Certificate{foreignClientCert(t)}})
		if err == nil {
			t.Fatal("Consul answered a client whose certificate comes from another CA")
		}
	})

	t.Run("expired certificate from the root rejected", func(t *testing.T) {
		err := consulGet(env, &tls.Config{RootCAs: env.CAPool, Certificates: []tls.Certificate{expiredClientCert(t, env)}})
		if err == nil {
			t.Fatal("Consul answered a client whose certificate expired")
		}
	})

	t.Run("service leaf certificate accepted", func(t *testing.T) {
		// Services present their Vault-issued leaf, with the intermediate,
		// as the client certificate for Consul's HTTPS API.
		secret, err := login(t, env, "orders").Logical().Write("pki_int/issue/orders", map[string]any{
			"common_name": "orders.service.bulwark.internal", "uri_sans": "spiffe://bulwark.internal/service/orders",
		})
		if err != nil {
			t.Fatal(err)
		}
		certPEM := secret.Data["certificate"].(string)
		for _, c := range secret.Data["ca_chain"].([]any) {
			certPEM += "\n" + c.(string)
		}
		cert, err := tls.X509KeyPair([]byte(certPEM), []byte(secret.Data["private_key"].(string)))
		if err != nil {
			t.Fatal(err)
		}
		if err := consulGet(env, &tls.Config{RootCAs: env.CAPool, Certificates: []tls.Certificate{cert}}); err != nil {
			t.Fatalf("Consul rejected the orders leaf: %v", err)
		}
	})

	t.Run("operator certificate accepted", func(t *testing.T) {
		if err := consulGet(env, env.OperatorTLSConfig(t)); err != nil {
			t.Fatalf("operator request failed: %v", err)
		}
	})

	t.Run("registration without token rejected", func(t *testing.T) {
		err := consulClient(t, env, "").Agent().ServiceRegister(&consul.AgentServiceRegistration{ID: "rogue-1", Name: "orders", Port: 1})
		if code := statusCode(err); code != http.StatusForbidden {
			t.Fatalf("register without token: error %v (HTTP %d), want 403", err, code)
		}
		services, err := consulClient(t, env, management).Agent().Services()
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := services["rogue-1"]; ok {
			t.Fatal("rogue registration is in the catalog")
		}
	})

	t.Run("anonymous token reads nothing", func(t *testing.T) {
		services, _, err := consulClient(t, env, "").Catalog().Services(nil)
		if err != nil && statusCode(err) != http.StatusForbidden {
			t.Fatal(err)
		}
		if len(services) != 0 {
			t.Fatalf("anonymous catalog read returned %v, want nothing", services)
		}
	})

	t.Run("service token registers only its own name", func(t *testing.T) {
		tests := []struct {
			desc    string
			service string
			name    string
			allowed bool
		}{
			{"orders as orders", "orders", "orders", true},
			{"orders as users", "orders", "users", false},
			{"orders as broker", "orders", "micro.http.broker", false},
			{"inventory as broker", "inventory", "micro.http.broker", true},
			{"inventory as orders", "inventory", "orders", false},
			{"gateway as consul", "gateway", "consul", false},
		}
		for _, tt := range tests {
			t.Run(tt.desc, func(t *testing.T) {
				token := serviceConsulToken(t, env, tt.service)
				agent := consulClient(t, env, token).Agent()
				id := tt.name + "-" + tt.service + "-test"
				err := agent.ServiceRegister(&consul.AgentServiceRegistration{ID: id, Name: tt.name, Port: 1})
				if tt.allowed {
					if err != nil {
						t.Fatalf("register %s with the %s token: %v", tt.name, tt.service, err)
					}
					if err := agent.ServiceDeregister(id); err != nil {
						t.Errorf("deregister: %v", err)
					}
					return
				}
				if code := statusCode(err); code != http.StatusForbidden {
					t.Fatalf("register %s with the %s token: error %v (HTTP %d), want 403", tt.name, tt.service, err, code)
				}
			})
		}
	})

	t.Run("service token reads catalog and agent host", func(t *testing.T) {
		client := consulClient(t, env, serviceConsulToken(t, env, "gateway"))
		services, _, err := client.Catalog().Services(nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := services["consul"]; !ok {
			t.Errorf("catalog read with the gateway token lacks the consul service: %v", services)
		}
		// The go-micro Consul plugin probes /v1/agent/host on every
		// registry creation; it needs operator:read.
		if _, err := client.Agent().Host(); err != nil {
			t.Errorf("agent host with the gateway token: %v", err)
		}
		if _, err := client.KV().Put(&consul.KVPair{Key: "x", Value: []byte("y")}, nil); statusCode(err) != http.StatusForbidden {
			t.Errorf("KV write with the gateway token: %v, want 403", err)
		}
		if _, _, err := client.ACL().TokenList(nil); statusCode(err) != http.StatusForbidden {
			t.Errorf("ACL token list with the gateway token: %v, want 403", err)
		}
	})
}

// consulGet sends one request to Consul's HTTPS API with the given client
// TLS config and returns the transport or status error.
func consulGet(env *testenv.Env, config *tls.Config) error {
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: config}, Timeout: 5 * time.Second}
	response, err := client.Get("https://" + env.ConsulAddr + "/v1/status/leader")
	if err != nil {
		return err
	}
	defer response.Body.Close()
	if response.StatusCode != http.StatusOK {
		return &statusErr{response.StatusCode}
	}
	return nil
}

type statusErr struct{ code int }

func (e *statusErr) Error() string { return http.StatusText(e.code) }

// serviceConsulToken obtains a Consul token the way a service does: AppRole
// login, then a read of its own Consul secrets-engine role.
func serviceConsulToken(t *testing.T, env *testenv.Env, service string) string {
	t.Helper()
	secret, err := login(t, env, service).Logical().Read("consul/creds/" + service)
	if err != nil {
		t.Fatalf("read consul/creds/%s: %v", service, err)
	}
	token, _ := secret.Data["token"].(string)
	if token == "" {
		t.Fatalf("consul/creds/%s returned no token", service)
	}
	return token
}

// foreignClientCert returns a client certificate from a CA that Consul does
// not trust.
func foreignClientCert(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTemplate := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Bulwark Root CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTemplate, caTemplate, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}

	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leafTemplate := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "bulwark-operator"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTemplate, caCert, &leafKey.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{leafDER, caDER}, PrivateKey: leafKey}
}

// expiredClientCert returns a client certificate signed by the Bulwark root
// CA that expired an hour ago.
func expiredClientCert(t *testing.T, env *testenv.Env) tls.Certificate {
	t.Helper()
	rootPair, err := tls.LoadX509KeyPair(env.CAFile, env.Layout.CAKey)
	if err != nil {
		t.Fatal(err)
	}
	root, err := x509.ParseCertificate(rootPair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	template := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano()), Subject: pkix.Name{CommonName: "bulwark-operator"},
		NotBefore: now.Add(-2 * time.Hour), NotAfter: now.Add(-time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, template, root, &key.PublicKey, rootPair.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
