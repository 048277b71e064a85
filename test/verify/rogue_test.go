package verify

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	grpcserver "github.com/go-micro/plugins/v4/server/grpc"
	"github.com/google/uuid"
	consulapi "github.com/hashicorp/consul/api"
	vault "github.com/hashicorp/vault/api"
	"go-micro.dev/v4/server"

	"github.com/bulwark-go/bulwark/internal/bootstrap"
	"github.com/bulwark-go/bulwark/platform/security/identity"
	"github.com/bulwark-go/bulwark/platform/security/registry"
	"github.com/bulwark-go/bulwark/platform/security/vaultclient"
)

// serviceToken reads a Consul token of service from Vault with the
// service's AppRole in the stack's state directory, as the service does.
func serviceToken(t *testing.T, s *nativeStack, service string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	layout := bootstrap.NewLayout(s.cfg.Env.StateDir)
	client, err := vaultclient.New(ctx, vaultclient.Config{
		Address:      s.cfg.Env.VaultAddr,
		CAFile:       s.cfg.Env.VaultCAFile,
		RoleIDFile:   layout.ServiceRoleID(service),
		SecretIDFile: layout.ServiceSecretID(service),
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatalf("log in to Vault as %s: %v", service, err)
	}
	defer client.Close()
	secret, err := client.API().Logical().ReadWithContext(ctx, "consul/creds/"+service)
	if err != nil {
		t.Fatalf("read the Consul token of %s: %v", service, err)
	}
	token, _ := secret.Data["token"].(string)
	if token == "" {
		t.Fatalf("Vault returned no Consul token for %s", service)
	}
	return token
}

// startPlaintextService starts a go-micro gRPC server without TLS and
// registers it in Consul under service with that service's own token, as a
// service built with TLS turned off would. It returns the server's address.
func startPlaintextService(t *testing.T, s *nativeStack, service string) string {
	t.Helper()
	reg, err := registry.NewConsulClient(s.cfg.Env.ConsulAddr, operatorTLS(t, s), serviceToken(t, s, service))
	if err != nil {
		t.Fatal(err)
	}
	srv := grpcserver.NewServer(
		server.Name(service),
		server.Id(uuid.NewString()),
		server.Address("127.0.0.1:0"),
		server.Registry(reg),
		server.RegisterTTL(time.Minute),
		server.RegisterInterval(20*time.Second),
	)
	if err := srv.Start(); err != nil {
		t.Fatalf("start the plaintext %s server: %v", service, err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	return srv.Options().Address
}

// startUntrustedService starts a TLS server whose certificate claims the
// identity of service but comes from a CA made in memory, and registers it
// in Consul under service with that service's token. It returns the
// server's address.
func startUntrustedService(t *testing.T, s *nativeStack, service string) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{untrustedCertificate(t, service)}, NextProtos: []string{"h2"}}
	// Handshakes that verify rejects are the expected outcome here.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)

	host, portText, _ := net.SplitHostPort(srv.Listener.Addr().String())
	port, _ := strconv.Atoi(portText)
	client, err := consulapi.NewClient(&consulapi.Config{
		Address:    s.cfg.Env.ConsulAddr,
		Scheme:     "https",
		Token:      serviceToken(t, s, service),
		HttpClient: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: operatorTLS(t, s)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	id := service + "-untrusted-" + uuid.NewString()
	if err := client.Agent().ServiceRegister(&consulapi.AgentServiceRegistration{
		ID: id, Name: service, Address: host, Port: port,
	}); err != nil {
		t.Fatalf("register the untrusted %s instance: %v", service, err)
	}
	t.Cleanup(func() { _ = client.Agent().ServiceDeregister(id) })
	return srv.Listener.Addr().String()
}

// untrustedCertificate returns a certificate that names service's identity
// and is signed by a CA that exists only in this test.
func untrustedCertificate(t *testing.T, service string) tls.Certificate {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTemplate := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "untrusted test CA"},
		NotBefore: now.Add(-time.Minute), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTemplate, caTemplate, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	uri, _ := url.Parse(identity.URI(service))
	der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: identity.DNSName(service)},
		DNSNames: []string{identity.DNSName(service)}, URIs: []*url.URL{uri},
		NotBefore: now.Add(-time.Minute), NotAfter: now.Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der, caDER}, PrivateKey: key}
}

// widenVaultPolicy appends extra to the Vault policy of service with the
// stack's root token, as a careless policy edit would, and restores the
// policy when the test ends.
func widenVaultPolicy(t *testing.T, s *nativeStack, service, extra string) {
	t.Helper()
	layout := bootstrap.NewLayout(s.cfg.Env.StateDir)
	root, err := os.ReadFile(layout.VaultRootToken)
	if err != nil {
		t.Fatal(err)
	}
	roots, err := vaultclient.LoadCAFile(s.cfg.Env.VaultCAFile)
	if err != nil {
		t.Fatal(err)
	}
	api, err := vault.NewClient(&vault.Config{
		Address: s.cfg.Env.VaultAddr,
		HttpClient: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	api.SetToken(strings.TrimSpace(string(root)))
	name := bootstrap.VaultPolicyName(service)
	original, err := api.Sys().GetPolicy(name)
	if err != nil || original == "" {
		t.Fatalf("read the Vault policy %s: %v", name, err)
	}
	if err := api.Sys().PutPolicy(name, original+"\n"+extra); err != nil {
		t.Fatalf("widen the Vault policy %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := api.Sys().PutPolicy(name, original); err != nil {
			t.Errorf("restore the Vault policy %s: %v", name, err)
		}
	})
}
