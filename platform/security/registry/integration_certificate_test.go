package registry

import (
	"context"
	"log/slog"
	"testing"
	"time"

	consulapi "github.com/hashicorp/consul/api"

	"github.com/bulwark-go/bulwark/internal/testenv"
	"github.com/bulwark-go/bulwark/platform/security/mtls"
	"github.com/bulwark-go/bulwark/platform/security/pki"
)

// certificateTTL is the PKI role's max_ttl in the client certificate test.
// A leaf expires a minute after it is issued, and because Vault backdates
// its NotBefore by 30 seconds, the source replaces it about 30 seconds
// after issue.
const certificateTTL = time.Minute

// TestIntegrationClientCertificateRotation connects the registry with the
// TLS config that services use, fed by a rotating certificate source. Once
// the first certificate has expired, Consul restarts without the node, so
// every connection is new and the service must register again. Consul
// (verify_incoming) accepts only a current client certificate, so the
// registration shows that the link reads each rotated certificate.
func TestIntegrationClientCertificateRotation(t *testing.T) {
	env := testenv.Start(t, testenv.Options{CertTTL: certificateTTL})
	logs := &testenv.SyncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	operator := operatorConsul(t, env)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	client := vaultFor(t, env, "orders", log)
	bundle, err := pki.LoadBundle(env.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	issuer, err := pki.NewVaultIssuer(client, "orders")
	if err != nil {
		t.Fatal(err)
	}
	source, err := pki.NewSource(context.Background(), pki.Config{
		Service: "orders", Issuer: issuer, Bundle: bundle, Logger: log,
	})
	if err != nil {
		t.Fatalf("NewSource: %v", err)
	}
	t.Cleanup(source.Close)
	first, err := source.Certificate()
	if err != nil {
		t.Fatal(err)
	}
	tlsConfig, err := mtls.RegistryClientConfig(source, "")
	if err != nil {
		t.Fatalf("RegistryClientConfig: %v", err)
	}

	reg, err := New(ctx, Options{
		Service:          "orders",
		Address:          env.ConsulAddr,
		TLSConfig:        tlsConfig,
		Vault:            client,
		RegisterTTL:      testRegisterTTL,
		RegisterInterval: testRegisterInterval,
		Logger:           log,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = reg.Close() })
	svc, nodeID, err := startService(t, reg, "orders")
	if err != nil {
		t.Fatalf("Start: %v", err)
	}

	expired := first.Leaf.NotAfter.Add(time.Second)
	t.Logf("waiting until the first certificate (serial %s) expires at %s", pki.Serial(first.Leaf),
		first.Leaf.NotAfter.Format(time.TimeOnly))
	for time.Now().Before(expired) {
		if got := catalogStatus(t, operator, "orders", nodeID); got != consulapi.HealthPassing {
			t.Fatalf("catalog status of %s = %q while the first certificate was valid, want passing", nodeID, got)
		}
		time.Sleep(time.Second)
	}
	current, err := source.Certificate()
	if err != nil {
		t.Fatalf("current certificate after the first expired: %v", err)
	}
	if pki.Serial(current.Leaf) == pki.Serial(first.Leaf) {
		t.Fatal("the certificate source did not rotate before the first certificate expired")
	}

	env.RestartConsulLosingServices(t)
	restarted := time.Now()
	if !waitFor(testRegisterInterval+testRegisterTTL, func() bool {
		return agentHasService(t, operator, nodeID) &&
			catalogStatus(t, operator, "orders", nodeID) == consulapi.HealthPassing
	}) {
		t.Fatalf("node %s not registered again within %v of the Consul restart; the registry link may still "+
			"present the expired certificate %s", nodeID, testRegisterInterval+testRegisterTTL,
			pki.Serial(first.Leaf))
	}
	t.Logf("registered again %v after the restart, with certificate %s",
		time.Since(restarted).Round(time.Millisecond), pki.Serial(current.Leaf))

	if err := svc.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if !waitFor(2*time.Second, func() bool { return catalogStatus(t, operator, "orders", nodeID) == "" }) {
		t.Error("node still in the catalog 2s after Stop")
	}
}
