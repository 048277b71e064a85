package registry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	microregistry "go-micro.dev/v4/registry"
)

// testTLSConfig returns a config that passes ValidateTLSConfig. Unit tests
// never dial with it.
func testTLSConfig() *tls.Config {
	return &tls.Config{
		RootCAs: x509.NewCertPool(),
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return &tls.Certificate{}, nil
		},
		MinVersion: tls.VersionTLS12,
	}
}

type registryHarness struct {
	clock  *fakeClock
	consul *fakeConsul
	issuer *fakeIssuer
	reg    *Registry
}

func newRegistryHarness(t *testing.T, service string) *registryHarness {
	t.Helper()
	h := &registryHarness{clock: newFakeClock(), consul: newFakeConsul()}
	h.issuer = newFakeIssuer(h.clock, h.consul, service, time.Hour, 24*time.Hour)
	opts := Options{Service: service, Address: "127.0.0.1:8501", TLSConfig: testTLSConfig(),
		RegisterTTL: DefaultRegisterTTL, RegisterInterval: DefaultRegisterInterval}
	reg, err := start(context.Background(), opts, h.issuer, h.consul.build, h.clock,
		slog.New(slog.NewTextHandler(io.Discard, nil)), noJitter)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { _ = reg.Close() })
	h.reg = reg
	return h
}

func testService(name, id string) *microregistry.Service {
	return &microregistry.Service{
		Name:  name,
		Nodes: []*microregistry.Node{{Id: id, Address: "127.0.0.1:9000"}},
	}
}

// newToken issues a token from the fake Vault without applying it.
func (h *registryHarness) newToken(t *testing.T) Token {
	t.Helper()
	tok, err := h.issuer.issue(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestSwitchTokenMovesRegistrations(t *testing.T) {
	h := newRegistryHarness(t, "orders")
	first := h.reg.Token()
	if err := h.reg.Register(testService("orders", "orders-1")); err != nil {
		t.Fatalf("Register: %v", err)
	}

	second := h.newToken(t)
	if err := h.reg.switchToken(context.Background(), second); err != nil {
		t.Fatalf("switchToken: %v", err)
	}
	node, ok := h.consul.node("orders-1")
	if !ok {
		t.Fatal("node orders-1 is gone after the switch")
	}
	if node.secret != second.SecretID() {
		t.Errorf("node orders-1 is held by %q, want the new token", node.secret)
	}
	if got := h.reg.Token().AccessorID; got != second.AccessorID {
		t.Errorf("Token() = %s, want %s", got, second.AccessorID)
	}

	// Vault revokes the first token at the end of its lease.
	h.consul.revoke(first.SecretID())
	if err := h.reg.Register(testService("orders", "orders-1")); err != nil {
		t.Errorf("heartbeat after the old token was revoked: %v", err)
	}
	if _, err := h.reg.GetService("orders"); err != nil {
		t.Errorf("GetService after the old token was revoked: %v", err)
	}
}

func TestSwitchTokenKeepsOldTokenOnFailure(t *testing.T) {
	h := newRegistryHarness(t, "orders")
	first := h.reg.Token()
	if err := h.reg.Register(testService("orders", "orders-1")); err != nil {
		t.Fatal(err)
	}
	second := h.newToken(t)
	h.consul.registerFn = func(secret string, _ *microregistry.Service) error {
		if secret == second.SecretID() {
			return errors.New("Unexpected response code: 500 (rpc error)")
		}
		return nil
	}

	err := h.reg.switchToken(context.Background(), second)
	if err == nil {
		t.Fatal("switchToken succeeded although the node could not be registered with the new token")
	}
	if !strings.Contains(err.Error(), "orders-1") || !strings.Contains(err.Error(), second.AccessorID) {
		t.Errorf("error %q does not name the node and the new token's accessor", err)
	}
	if strings.Contains(err.Error(), second.SecretID()) {
		t.Errorf("error contains the secret ID: %q", err)
	}
	if got := h.reg.Token().AccessorID; got != first.AccessorID {
		t.Errorf("Token() = %s after a failed switch, want the old %s", got, first.AccessorID)
	}
}

func TestRegisterRejectedIsError(t *testing.T) {
	h := newRegistryHarness(t, "orders")

	err := h.reg.Register(testService("users", "users-1"))
	if err == nil {
		t.Fatal("Register of another service's name succeeded")
	}
	for _, want := range []string{"403", `"users"`, "service:write"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Register error %q lacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), h.reg.Token().SecretID()) {
		t.Errorf("Register error contains the secret ID: %q", err)
	}
	if h.reg.Err() == nil {
		t.Error("Err() = nil after a rejected registration")
	}
}

func TestCheckRegistered(t *testing.T) {
	tests := []struct {
		desc    string
		setup   func(h *registryHarness) error
		wantErr string
	}{
		{
			desc:  "registered",
			setup: func(h *registryHarness) error { return h.reg.Register(testService("orders", "orders-1")) },
		},
		{
			desc:    "nothing registered",
			setup:   func(*registryHarness) error { return nil },
			wantErr: "no node of service",
		},
		{
			desc: "rejected",
			setup: func(h *registryHarness) error {
				h.consul.registerFn = func(string, *microregistry.Service) error {
					return errors.New("Unexpected response code: 403 (Permission denied)")
				}
				_ = h.reg.Register(testService("orders", "orders-1"))
				return nil
			},
			wantErr: "Permission denied",
		},
		{
			desc: "missing from catalog",
			setup: func(h *registryHarness) error {
				if err := h.reg.Register(testService("orders", "orders-1")); err != nil {
					return err
				}
				h.consul.mu.Lock()
				delete(h.consul.nodes, "orders-1")
				h.consul.mu.Unlock()
				return nil
			},
			wantErr: "not in Consul's catalog",
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			h := newRegistryHarness(t, "orders")
			if err := tt.setup(h); err != nil {
				t.Fatalf("setup: %v", err)
			}
			err := h.reg.CheckRegistered(context.Background())
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("CheckRegistered = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrNotRegistered) {
				t.Fatalf("CheckRegistered = %v, want ErrNotRegistered", err)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("CheckRegistered = %q, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestUnknownTokenForcesRotation(t *testing.T) {
	h := newRegistryHarness(t, "orders")
	first := h.reg.Token()
	h.clock.waitIdle(t)
	h.clock.Advance(minForcedRotationGap)

	// Vault revoked the lease early, so Consul no longer has the token.
	h.consul.revoke(first.SecretID())
	if err := h.reg.Register(testService("orders", "orders-1")); err == nil {
		t.Fatal("Register with a revoked token succeeded")
	}

	deadline := time.Now().Add(5 * time.Second)
	for h.reg.Token().AccessorID == first.AccessorID && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if h.reg.Token().AccessorID == first.AccessorID {
		t.Fatal("the registry kept the revoked token")
	}
	if err := h.reg.Register(testService("orders", "orders-1")); err != nil {
		t.Errorf("Register after the forced rotation: %v", err)
	}
}

func TestRegistryConcurrentSwitches(t *testing.T) {
	h := newRegistryHarness(t, "orders")
	svc := testService("orders", "orders-1")
	if err := h.reg.Register(svc); err != nil {
		t.Fatal(err)
	}
	w, err := h.reg.Watch(microregistry.WatchService("orders"))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	go func() {
		for {
			if _, err := w.Next(); err != nil {
				return
			}
		}
	}()

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := h.reg.Register(svc); err != nil {
					t.Errorf("Register during switches: %v", err)
					return
				}
				if _, err := h.reg.GetService("orders"); err != nil {
					t.Errorf("GetService during switches: %v", err)
					return
				}
				_ = h.reg.Options()
				_ = h.reg.Err()
			}
		}()
	}
	for range 20 {
		if err := h.reg.switchToken(context.Background(), h.newToken(t)); err != nil {
			t.Errorf("switchToken: %v", err)
		}
	}
	close(stop)
	wg.Wait()

	node, _ := h.consul.node("orders-1")
	if node.secret != h.reg.Token().SecretID() {
		t.Errorf("node is held by an old token after concurrent switches")
	}
}

func TestDeregisterForgetsNode(t *testing.T) {
	h := newRegistryHarness(t, "orders")
	svc := testService("orders", "orders-1")
	if err := h.reg.Register(svc); err != nil {
		t.Fatal(err)
	}
	if err := h.reg.Deregister(svc); err != nil {
		t.Fatalf("Deregister: %v", err)
	}
	if err := h.reg.switchToken(context.Background(), h.newToken(t)); err != nil {
		t.Fatal(err)
	}
	if _, ok := h.consul.node("orders-1"); ok {
		t.Error("a token switch registered a node that was deregistered")
	}
}

func TestRegisterInputChecks(t *testing.T) {
	h := newRegistryHarness(t, "orders")
	tests := []struct {
		desc string
		svc  *microregistry.Service
	}{
		{desc: "nil service"},
		{desc: "no nodes", svc: &microregistry.Service{Name: "orders"}},
		{desc: "nil node", svc: &microregistry.Service{Name: "orders", Nodes: []*microregistry.Node{nil}}},
		{desc: "empty node ID", svc: testService("orders", "")},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if err := h.reg.Register(tt.svc); err == nil {
				t.Error("Register succeeded")
			}
		})
	}
}
