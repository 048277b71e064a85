package registry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	consul "github.com/go-micro/plugins/v4/registry/consul"
	consulapi "github.com/hashicorp/consul/api"
	microregistry "go-micro.dev/v4/registry"

	"github.com/bulwark-go/bulwark/internal/testenv"
)

// TestIntegration runs the registry against real Consul and Vault servers
// that share one harness, because starting them takes seconds.
func TestIntegration(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	logs := &testenv.SyncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	operator := operatorConsul(t, env)

	orders := newTestRegistry(t, env, "orders", log)
	users := newTestRegistry(t, env, "users", log)

	t.Run("registration without token rejected", func(t *testing.T) {
		client := vaultFor(t, env, "orders", log)
		anonymous := consul.NewRegistry(
			microregistry.Addrs(env.ConsulAddr),
			microregistry.TLSConfig(serviceTLS(t, env, client, "orders")),
			consul.Config(&consulapi.Config{Address: env.ConsulAddr, Scheme: "https"}),
		)
		err := anonymous.Register(testService("orders", "orders-anonymous"), microregistry.RegisterTTL(time.Minute))
		if err == nil || !strings.Contains(err.Error(), "403") {
			t.Fatalf("Register without a token = %v, want a 403", err)
		}
		if got := catalogStatus(t, operator, "orders", "orders-anonymous"); got != "" {
			t.Errorf("the rejected node is in the catalog as %q", got)
		}
	})

	t.Run("registration under another name rejected", func(t *testing.T) {
		err := orders.Register(testService("users", "users-rogue"), microregistry.RegisterTTL(time.Minute))
		if err == nil || !strings.Contains(err.Error(), "403") {
			t.Fatalf("orders registering users = %v, want a 403", err)
		}
		if got := catalogStatus(t, operator, "users", "users-rogue"); got != "" {
			t.Errorf("the rogue node is in the catalog as %q", got)
		}
		// Forget the rejected node so that later subtests see a healthy
		// registry.
		_ = orders.Deregister(testService("users", "users-rogue"))
	})

	t.Run("own registration discovered", func(t *testing.T) {
		svc := testService("orders", "orders-own")
		if err := orders.Register(svc, microregistry.RegisterTTL(time.Minute)); err != nil {
			t.Fatalf("Register: %v", err)
		}
		t.Cleanup(func() { _ = orders.Deregister(svc) })
		if err := orders.CheckRegistered(context.Background()); err != nil {
			t.Errorf("CheckRegistered: %v", err)
		}
		services, err := users.GetService("orders")
		if err != nil {
			t.Fatalf("users looking up orders: %v", err)
		}
		if !hasNode(services, "orders-own") {
			t.Errorf("users found %v, want node orders-own", services)
		}
	})

	t.Run("service token cannot touch KV", func(t *testing.T) {
		c := consulClient(t, env, env.OperatorTLSConfig(t), orders.Token().SecretID())
		if _, _, err := c.KV().Get("bulwark/probe", nil); err == nil || !strings.Contains(err.Error(), "403") {
			t.Errorf("KV read with the orders token = %v, want a 403", err)
		}
		_, err := c.KV().Put(&consulapi.KVPair{Key: "bulwark/probe", Value: []byte("x")}, nil)
		if err == nil || !strings.Contains(err.Error(), "403") {
			t.Errorf("KV write with the orders token = %v, want a 403", err)
		}
	})

	t.Run("untrusted Consul certificate rejected", func(t *testing.T) {
		client := vaultFor(t, env, "orders", log)
		cfg := serviceTLS(t, env, client, "orders")
		cfg.RootCAs = otherCAPool(t)
		r := buildConsul(orders.Token(), env.ConsulAddr, cfg, 0)
		_, err := r.GetService("orders")
		var unknown x509.UnknownAuthorityError
		if !errors.As(err, &unknown) && (err == nil || !strings.Contains(err.Error(), "unknown authority")) {
			t.Fatalf("GetService trusting another CA = %v, want an unknown authority error", err)
		}
	})

	t.Run("client without certificate rejected", func(t *testing.T) {
		cfg := &tls.Config{RootCAs: env.CAPool, MinVersion: tls.VersionTLS12}
		if err := ValidateTLSConfig(cfg); err == nil {
			t.Error("ValidateTLSConfig accepted a config without a client certificate")
		}
		r := buildConsul(orders.Token(), env.ConsulAddr, cfg, 0)
		if _, err := r.GetService("orders"); err == nil {
			t.Fatal("Consul answered a client without a certificate")
		}
	})

	t.Run("plaintext HTTP rejected", func(t *testing.T) {
		if err := ValidateAddress("http://" + env.ConsulAddr); err == nil {
			t.Error("ValidateAddress accepted an http:// address")
		}
		client := &http.Client{Timeout: 5 * time.Second}
		resp, err := client.Get("http://" + env.ConsulAddr + "/v1/catalog/services")
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				t.Fatalf("Consul answered plaintext HTTP with 200: %s", body)
			}
		}
	})

	t.Run("service lifecycle", func(t *testing.T) {
		svc, nodeID, err := startService(t, orders, "orders")
		if err != nil {
			t.Fatalf("Start: %v", err)
		}
		if got := catalogStatus(t, operator, "orders", nodeID); got != consulapi.HealthPassing {
			t.Fatalf("catalog status after start = %q, want passing", got)
		}

		env.RestartConsul(t)
		restarted := time.Now()
		if !waitFor(testRegisterInterval+testRegisterTTL, func() bool {
			return catalogStatus(t, operator, "orders", nodeID) == consulapi.HealthPassing
		}) {
			t.Fatalf("node %s not passing within %v of the Consul restart", nodeID,
				testRegisterInterval+testRegisterTTL)
		}
		t.Logf("passing again %v after the Consul restart", time.Since(restarted).Round(time.Millisecond))

		// This time the agent comes back without the services registered
		// with it, so only the service's own heartbeat can bring the node
		// back: the plugin's TTL update fails and it registers again.
		env.RestartConsulLosingServices(t)
		restarted = time.Now()
		if !waitFor(testRegisterInterval+testRegisterTTL, func() bool {
			return agentHasService(t, operator, nodeID) &&
				catalogStatus(t, operator, "orders", nodeID) == consulapi.HealthPassing
		}) {
			t.Fatalf("node %s not registered with the agent and passing within %v of a Consul restart that "+
				"lost it", nodeID, testRegisterInterval+testRegisterTTL)
		}
		t.Logf("registered again %v after a Consul restart that lost the node",
			time.Since(restarted).Round(time.Millisecond))

		// Consul loses the node, as an agent with fresh state would: the next
		// heartbeat fails and the plugin registers the node again.
		if err := operator.Agent().ServiceDeregister(nodeID); err != nil {
			t.Fatalf("remove the node behind the service's back: %v", err)
		}
		lost := time.Now()
		if !waitFor(2*testRegisterInterval, func() bool {
			return catalogStatus(t, operator, "orders", nodeID) == consulapi.HealthPassing
		}) {
			t.Fatalf("node %s not registered again within %v of being lost", nodeID, 2*testRegisterInterval)
		}
		t.Logf("registered again %v after Consul lost the node", time.Since(lost).Round(time.Millisecond))

		if err := svc.Stop(); err != nil {
			t.Fatalf("Stop: %v", err)
		}
		if !waitFor(2*time.Second, func() bool { return catalogStatus(t, operator, "orders", nodeID) == "" }) {
			t.Error("node still in the catalog 2s after Stop")
		}
	})

	t.Run("rejected registration fails start", func(t *testing.T) {
		_, _, err := startService(t, orders, "users")
		if !errors.Is(err, ErrNotRegistered) {
			t.Fatalf("Start of users with the orders token = %v, want ErrNotRegistered", err)
		}
		if !strings.Contains(err.Error(), "403") {
			t.Errorf("start error %q does not carry Consul's 403", err)
		}
	})

	t.Run("no secret in logs", func(t *testing.T) {
		out := logs.String()
		for _, r := range []*Registry{orders, users} {
			if strings.Contains(out, r.Token().SecretID()) {
				t.Errorf("log output contains the secret ID of %s", r.Token())
			}
			if !strings.Contains(out, r.Token().AccessorID) {
				t.Errorf("log output lacks the accessor ID %s", r.Token().AccessorID)
			}
		}
	})
}

// otherCAPool returns a pool with a CA that signed nothing in the harness.
func otherCAPool(t *testing.T) *x509.CertPool {
	t.Helper()
	cert, _ := newSelfSignedCA(t)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool
}
