package secure_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"go-micro.dev/v4"
	"go-micro.dev/v4/registry"

	"github.com/bulwark-go/bulwark/platform/security/pki"
	"github.com/bulwark-go/bulwark/platform/security/pki/pkitest"
	"github.com/bulwark-go/bulwark/platform/security/secure"
)

func memorySource(t *testing.T, ca *pkitest.CA, service string) *pki.Source {
	t.Helper()
	src, err := pki.NewSource(context.Background(), pki.Config{
		Service: service,
		Issuer:  ca.Issuer(t, service, time.Hour, time.Now),
		Bundle:  pki.NewBundle(ca.Root),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(src.Close)
	return src
}

func TestNewServiceValidatesConfig(t *testing.T) {
	ca := pkitest.NewCA(t)
	policy := writePolicy(t)
	reg := registry.NewMemoryRegistry()
	tests := []struct {
		desc    string
		cfg     secure.Config
		wantErr string
	}{
		{desc: "bad name", cfg: secure.Config{Name: "Inventory", PolicyFile: policy, Registry: reg, CAFile: "x"}, wantErr: "Inventory"},
		{desc: "no policy", cfg: secure.Config{Name: "inventory", Registry: reg, CAFile: "x"}, wantErr: "policy file is not set"},
		{desc: "no registry", cfg: secure.Config{Name: "inventory", PolicyFile: policy, CAFile: "x"}, wantErr: "registry is nil"},
		{desc: "no CA", cfg: secure.Config{Name: "inventory", PolicyFile: policy, Registry: reg}, wantErr: "CA file is not set"},
		{
			desc:    "source of another service",
			cfg:     secure.Config{Name: "inventory", PolicyFile: policy, Registry: reg, Certificates: memorySource(t, ca, "orders")},
			wantErr: `certificate source is for "orders"`,
		},
		{
			desc:    "short pool TTL",
			cfg:     secure.Config{Name: "inventory", PolicyFile: policy, Registry: reg, CAFile: "x", PoolTTL: time.Millisecond},
			wantErr: "PoolTTL",
		},
		{
			desc:    "undeclared service",
			cfg:     secure.Config{Name: "billing", PolicyFile: policy, Registry: reg, Certificates: memorySource(t, ca, "billing")},
			wantErr: "not declared",
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			_, err := secure.NewService(context.Background(), tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("NewService = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

// UnlistedProbe serves only Probe.Whoami, so Probe.Reserve of the policy
// is served by nothing.
type UnlistedProbe struct{}

func (UnlistedProbe) Whoami(context.Context, *WhoamiRequest, *WhoamiResponse) error { return nil }

func newMemoryService(t *testing.T, name string) *secure.Service {
	t.Helper()
	ca := pkitest.NewCA(t)
	svc, err := secure.NewService(context.Background(), secure.Config{
		Name:          name,
		Address:       "127.0.0.1:0",
		BrokerAddress: "127.0.0.1:0",
		PolicyFile:    writePolicy(t),
		Registry:      registry.NewMemoryRegistry(),
		Certificates:  memorySource(t, ca, name),
	})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func TestStartRejectsUnservedEndpoint(t *testing.T) {
	svc := newMemoryService(t, "inventory")
	type Probe = UnlistedProbe
	if err := micro.RegisterHandler(svc.Server(), &Probe{}); err != nil {
		t.Fatal(err)
	}
	err := svc.Start()
	if err == nil {
		svc.Stop()
		t.Fatal("Start succeeded with an endpoint of the policy unserved")
	}
	if !strings.Contains(err.Error(), "has no endpoint Probe.Reserve") {
		t.Fatalf("Start = %v, want the unserved endpoint named", err)
	}
}

func TestStartRejectsUnauthorizedSubscription(t *testing.T) {
	svc := newMemoryService(t, "orders")
	err := micro.RegisterSubscriber("order.placed", svc.Server(), func(context.Context, *OrderPlaced) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	err = svc.Start()
	if err == nil {
		svc.Stop()
		t.Fatal("Start succeeded with a subscription the policy denies")
	}
	if !strings.Contains(err.Error(), "orders may not receive topic order.placed") {
		t.Fatalf("Start = %v, want the denied topic named", err)
	}
}
