package foundation_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/internal/testenv"
	"github.com/bulwark-go/bulwark/platform/security/identity"
)

func vaultTests(t *testing.T, env *testenv.Env) {
	root := parsePEM(t, readSecret(t, env.CAFile))

	t.Run("plaintext HTTP rejected", func(t *testing.T) {
		u, err := url.Parse(env.VaultAddr)
		if err != nil {
			t.Fatal(err)
		}
		client := &http.Client{Timeout: 5 * time.Second}
		response, err := client.Get("http://" + u.Host + "/v1/sys/health")
		if err != nil {
			return // The connection was closed: rejected.
		}
		defer response.Body.Close()
		body, _ := io.ReadAll(response.Body)
		if response.StatusCode != http.StatusBadRequest || strings.Contains(string(body), "initialized") {
			t.Fatalf("plain HTTP got %d %q, want 400 from the TLS listener", response.StatusCode, body)
		}
	})

	t.Run("TLS 1.2 rejected", func(t *testing.T) {
		u, _ := url.Parse(env.VaultAddr)
		conn, err := tls.Dial("tcp", u.Host, &tls.Config{RootCAs: env.CAPool, MaxVersion: tls.VersionTLS12})
		if err == nil {
			conn.Close()
			t.Fatal("Vault accepted a TLS 1.2 handshake; its listener requires TLS 1.3")
		}
	})

	t.Run("service issues its own certificate", func(t *testing.T) {
		for _, service := range env.Services {
			t.Run(service, func(t *testing.T) {
				leaf, chain := issueLeaf(t, env, service, map[string]any{"ttl": "24h"})
				if got, err := identity.FromCertificate(leaf); err != nil || got != service {
					t.Errorf("identity = %q, %v; want %q", got, err, service)
				}
				if len(leaf.URIs) != 1 || leaf.URIs[0].String() != identity.URI(service) {
					t.Errorf("URI SANs = %v, want [%s]", leaf.URIs, identity.URI(service))
				}
				if !slices.Equal(leaf.DNSNames, []string{identity.DNSName(service)}) {
					t.Errorf("DNS SANs = %v, want [%s]", leaf.DNSNames, identity.DNSName(service))
				}
				if len(leaf.IPAddresses) != 0 || len(leaf.EmailAddresses) != 0 {
					t.Errorf("unexpected SANs: IPs %v, emails %v", leaf.IPAddresses, leaf.EmailAddresses)
				}
				key, ok := leaf.PublicKey.(*ecdsa.PublicKey)
				if !ok || key.Curve != elliptic.P256() {
					t.Errorf("key is %T, want ECDSA P-256", leaf.PublicKey)
				}
				// Vault backdates NotBefore by 30 s; the 24h request is
				// capped at the role's max_ttl.
				if lifetime := leaf.NotAfter.Sub(time.Now()); lifetime > certTTL || lifetime < certTTL-time.Minute {
					t.Errorf("certificate expires in %s, want about %s", lifetime.Round(time.Second), certTTL)
				}
				intermediates := x509.NewCertPool()
				for _, c := range chain {
					intermediates.AddCert(c)
				}
				roots := x509.NewCertPool()
				roots.AddCert(root)
				for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
					if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: intermediates,
						KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
						t.Errorf("leaf does not verify for usage %v: %v", usage, err)
					}
				}
				if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: intermediates,
					DNSName: identity.DNSName(service)}); err != nil {
					t.Errorf("leaf does not verify for its DNS name: %v", err)
				}
			})
		}
	})

	t.Run("other service's PKI role denied", func(t *testing.T) {
		client := login(t, env, "orders")
		_, err := client.Logical().Write("pki_int/issue/users", map[string]any{
			"common_name": identity.DNSName("users"), "uri_sans": identity.URI("users"),
		})
		if code := statusCode(err); code != http.StatusForbidden {
			t.Fatalf("orders issuing from pki_int/issue/users: error %v (HTTP %d), want 403", err, code)
		}
	})

	t.Run("own PKI role rejects foreign names", func(t *testing.T) {
		dns, uri := identity.DNSName("orders"), identity.URI("orders")
		tests := []struct {
			desc string
			data map[string]any
		}{
			{"other DNS name", map[string]any{"common_name": identity.DNSName("users"), "uri_sans": uri}},
			{"other URI", map[string]any{"common_name": dns, "uri_sans": identity.URI("users")}},
			{"second URI", map[string]any{"common_name": dns, "uri_sans": uri + "," + identity.URI("users")}},
			{"IP SAN", map[string]any{"common_name": dns, "uri_sans": uri, "ip_sans": "127.0.0.1"}},
			{"localhost", map[string]any{"common_name": dns, "uri_sans": uri, "alt_names": "localhost"}},
			{"wildcard", map[string]any{"common_name": "*.service.bulwark.internal", "uri_sans": uri}},
			{"subdomain", map[string]any{"common_name": "x." + dns, "uri_sans": uri}},
			{"Consul server name", map[string]any{"common_name": dns, "alt_names": "server.dc1.consul"}},
			{"other trust domain", map[string]any{"common_name": dns, "uri_sans": "spiffe://evil.example/service/orders"}},
		}
		client := login(t, env, "orders")
		for _, tt := range tests {
			t.Run(tt.desc, func(t *testing.T) {
				secret, err := client.Logical().Write("pki_int/issue/orders", tt.data)
				if err == nil {
					t.Fatalf("issued a certificate: %v", secret.Data["certificate"])
				}
				if code := statusCode(err); code != http.StatusBadRequest {
					t.Fatalf("error %v (HTTP %d), want 400", err, code)
				}
			})
		}
	})

	t.Run("other service's Consul credentials denied", func(t *testing.T) {
		client := login(t, env, "orders")
		if _, err := client.Logical().Read("consul/creds/orders"); err != nil {
			t.Fatalf("orders reading its own Consul credentials: %v", err)
		}
		_, err := client.Logical().Read("consul/creds/users")
		if code := statusCode(err); code != http.StatusForbidden {
			t.Fatalf("orders reading consul/creds/users: error %v (HTTP %d), want 403", err, code)
		}
	})

	t.Run("lease renewal limited to own leases", func(t *testing.T) {
		orders := login(t, env, "orders")
		secret, err := orders.Logical().Read("consul/creds/orders")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(secret.LeaseID, "consul/creds/orders/") {
			t.Fatalf("lease ID %q is not under consul/creds/orders/", secret.LeaseID)
		}
		if _, err := orders.Logical().Write("sys/leases/renew/"+secret.LeaseID, map[string]any{"increment": "5m"}); err != nil {
			t.Fatalf("orders renewing its own lease: %v", err)
		}
		users := login(t, env, "users")
		_, err = users.Logical().Write("sys/leases/renew/"+secret.LeaseID, nil)
		if code := statusCode(err); code != http.StatusForbidden {
			t.Fatalf("users renewing an orders lease: error %v (HTTP %d), want 403", err, code)
		}
		_, err = users.Logical().Write("sys/leases/renew", map[string]any{"lease_id": secret.LeaseID})
		if code := statusCode(err); code != http.StatusForbidden {
			t.Fatalf("users renewing an orders lease through the body: error %v (HTTP %d), want 403", err, code)
		}
	})

	t.Run("service token has nothing else", func(t *testing.T) {
		client := login(t, env, "orders")
		tests := []struct {
			desc, op, path string
		}{
			{"sign any CSR", "write", "pki_int/sign/orders"},
			{"sign verbatim", "write", "pki_int/sign-verbatim"},
			{"change own role", "write", "pki_int/roles/orders"},
			{"read policies", "read", "sys/policy/service-orders"},
			{"mint a secret_id", "write", "auth/approle/role/orders/secret-id"},
			{"mint another's secret_id", "write", "auth/approle/role/users/secret-id"},
			{"read another's role_id", "read", "auth/approle/role/users/role-id"},
			{"create a token", "write", "auth/token/create"},
			{"revoke a lease", "write", "sys/leases/revoke"},
			{"configure the Consul engine", "write", "consul/config/access"},
			{"read cubbyhole", "read", "cubbyhole/x"},
		}
		for _, tt := range tests {
			t.Run(tt.desc, func(t *testing.T) {
				var err error
				if tt.op == "read" {
					_, err = client.Logical().Read(tt.path)
				} else {
					_, err = client.Logical().Write(tt.path, map[string]any{"x": "y"})
				}
				if code := statusCode(err); code != http.StatusForbidden {
					t.Fatalf("%s %s: error %v (HTTP %d), want 403", tt.op, tt.path, err, code)
				}
			})
		}
		if _, err := client.Auth().Token().RenewSelf(0); err != nil {
			t.Errorf("renew own token: %v", err)
		}
		self, err := client.Auth().Token().LookupSelf()
		if err != nil {
			t.Fatalf("look up own token: %v", err)
		}
		policies, _ := self.TokenPolicies()
		if !slices.Equal(policies, []string{"service-orders"}) {
			t.Errorf("token policies = %v, want only [service-orders]", policies)
		}
	})

	t.Run("Consul token from Vault carries only the service policy", func(t *testing.T) {
		token, _, err := consulClient(t, env, serviceConsulToken(t, env, "inventory")).ACL().TokenReadSelf(nil)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, p := range token.Policies {
			names = append(names, p.Name)
		}
		if !slices.Equal(names, []string{"service-inventory"}) {
			t.Fatalf("policies = %v, want [service-inventory]", names)
		}
	})

	t.Run("root key stays out of Vault", func(t *testing.T) {
		client := vaultClient(t, env, readSecret(t, env.VaultRootTokenFile))
		list, err := client.Logical().List("pki_int/issuers")
		if err != nil || list == nil {
			t.Fatalf("list issuers: %v", err)
		}
		keys, _ := list.Data["keys"].([]any)
		for _, id := range keys {
			issuer, err := client.Logical().Read("pki_int/issuer/" + id.(string))
			if err != nil {
				t.Fatal(err)
			}
			cert := parsePEM(t, issuer.Data["certificate"].(string))
			keyID, _ := issuer.Data["key_id"].(string)
			if cert.Equal(root) && keyID != "" {
				t.Errorf("issuer %s is the root CA and has key %s in Vault", id, keyID)
			}
			if !cert.Equal(root) && cert.CheckSignatureFrom(root) != nil {
				t.Errorf("issuer %s is not signed by the root CA", id)
			}
		}
	})
}

// issueLeaf issues a certificate for service with its own AppRole and
// returns the leaf and the CA chain Vault returned with it.
func issueLeaf(t *testing.T, env *testenv.Env, service string, extra map[string]any) (*x509.Certificate, []*x509.Certificate) {
	t.Helper()
	data := map[string]any{"common_name": identity.DNSName(service), "uri_sans": identity.URI(service)}
	for k, v := range extra {
		data[k] = v
	}
	secret, err := login(t, env, service).Logical().Write("pki_int/issue/"+service, data)
	if err != nil {
		t.Fatalf("issue for %s: %v", service, err)
	}
	leaf := parsePEM(t, secret.Data["certificate"].(string))
	var chain []*x509.Certificate
	if list, ok := secret.Data["ca_chain"].([]any); ok {
		for _, c := range list {
			chain = append(chain, parsePEM(t, c.(string)))
		}
	}
	if len(chain) == 0 {
		t.Fatal("Vault returned no CA chain")
	}
	return leaf, chain
}

func parsePEM(t *testing.T, text string) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode([]byte(text))
	if block == nil {
		t.Fatalf("no PEM block in %q", text)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}
