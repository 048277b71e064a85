package registry

import (
	"testing"
	"time"

	microregistry "go-micro.dev/v4/registry"
)

func TestInitRejectsInsecureOptions(t *testing.T) {
	insecure := testTLSConfig()
	insecure.InsecureSkipVerify = true
	tests := []struct {
		desc    string
		opts    []microregistry.Option
		wantErr string
	}{
		{desc: "two addresses", opts: []microregistry.Option{microregistry.Addrs("a:1", "b:2")},
			wantErr: "exactly one"},
		{desc: "https prefix", opts: []microregistry.Option{microregistry.Addrs("https://127.0.0.1:8501")},
			wantErr: "scheme"},
		{desc: "nil TLS", opts: []microregistry.Option{microregistry.TLSConfig(nil)}, wantErr: "nil"},
		{desc: "insecure TLS", opts: []microregistry.Option{microregistry.TLSConfig(insecure)},
			wantErr: "InsecureSkipVerify"},
		{desc: "short timeout", opts: []microregistry.Option{microregistry.Timeout(time.Second)},
			wantErr: "blocking queries"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			h := newRegistryHarness(t, "orders")
			checkErr(t, h.reg.Init(tt.opts...), tt.wantErr)
			if got := h.reg.Options().Addrs[0]; got != "127.0.0.1:8501" {
				t.Errorf("address after a rejected Init = %q", got)
			}
		})
	}
}

func TestInitMovesRegistrations(t *testing.T) {
	h := newRegistryHarness(t, "orders")
	if err := h.reg.Register(testService("orders", "orders-1")); err != nil {
		t.Fatal(err)
	}
	cfg := testTLSConfig()
	cfg.ServerName = "consul"
	if err := h.reg.Init(microregistry.Addrs("127.0.0.2:8501"), microregistry.TLSConfig(cfg),
		microregistry.Secure(false)); err != nil {
		t.Fatalf("Init: %v", err)
	}

	h.consul.mu.Lock()
	last := h.consul.clients[len(h.consul.clients)-1]
	h.consul.mu.Unlock()
	if last.address != "127.0.0.2:8501" || last.tlsConfig.ServerName != "consul" {
		t.Errorf("new client uses %s with server name %q", last.address, last.tlsConfig.ServerName)
	}
	if last.tlsConfig == cfg {
		t.Error("the registry keeps the caller's TLS config, not a clone")
	}
	opts := h.reg.Options()
	if !opts.Secure || opts.TLSConfig == nil || opts.TLSConfig.InsecureSkipVerify {
		t.Errorf("Options() = %+v, want TLS on", opts)
	}

	// Changing the caller's config or the returned one has no effect.
	cfg.InsecureSkipVerify = true
	opts.TLSConfig.InsecureSkipVerify = true
	if h.reg.Options().TLSConfig.InsecureSkipVerify {
		t.Error("a caller's change reached the registry's TLS config")
	}
	if node, _ := h.consul.node("orders-1"); node.secret != h.reg.Token().SecretID() {
		t.Error("node not registered through the new client")
	}
}
