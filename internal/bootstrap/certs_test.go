package bootstrap

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// fixedNow is the clock of the unit tests.
var fixedNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func testConfig(t *testing.T) Config {
	t.Helper()
	return Config{
		StateDir:     filepath.Join(t.TempDir(), "state"),
		InfraDir:     repoInfraDir(t),
		Consul:       ConsulSettings{HTTPSPort: 18501, SerfLANPort: 18301, ServerPort: 18300, Hosts: []string{"consul.example"}},
		Vault:        VaultSettings{ListenAddr: "127.0.0.1:18200", ClusterAddr: "127.0.0.1:18201"},
		GatewayHosts: []string{"gateway"},
		RedisHosts:   []string{"redis", "172.30.53.12"},
		Now:          func() time.Time { return fixedNow },
	}
}

func runCerts(t *testing.T, cfg Config) (Result, string) {
	t.Helper()
	var out bytes.Buffer
	cfg.Report = &out
	result, err := Certs(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Certs() error = %v\noutput:\n%s", err, out.String())
	}
	return result, out.String()
}

func TestCertsFileModes(t *testing.T) {
	cfg := testConfig(t)
	runCerts(t, cfg)
	l := NewLayout(cfg.StateDir)
	tests := []struct {
		path string
		mode os.FileMode
	}{
		{l.Root, 0o700},
		{l.CACert, 0o644},
		{filepath.Dir(l.CAKey), 0o700},
		{l.CAKey, 0o600},
		{l.ConsulCert, 0o644},
		{l.ConsulKey, 0o600},
		{l.ConsulGossipKey, 0o600},
		{l.ConsulFragment, 0o600},
		{l.VaultCert, 0o644},
		{l.VaultKey, 0o600},
		{l.VaultFragment, 0o600},
		{l.GatewayDir, 0o700},
		{l.GatewayCert, 0o644},
		{l.GatewayKey, 0o600},
		{l.RedisDir, 0o700},
		{l.RedisCert, 0o644},
		{l.RedisKey, 0o600},
		{l.EngineKey, 0o600},
		{l.OperatorKey, 0o600},
		{l.ConsulDataDir, 0o700},
		{l.VaultDataDir, 0o700},
	}
	for _, tt := range tests {
		info, err := os.Stat(tt.path)
		if err != nil {
			t.Errorf("%s: %v", tt.path, err)
			continue
		}
		if info.Mode().Perm() != tt.mode {
			t.Errorf("%s has mode %o, want %o", tt.path, info.Mode().Perm(), tt.mode)
		}
	}
}

func TestCertsSecondRunNoChanges(t *testing.T) {
	cfg := testConfig(t)
	first, out := runCerts(t, cfg)
	if !first.Changed() || !strings.Contains(out, "certs: ") || strings.Contains(out, "no changes") {
		t.Fatalf("first run reported no changes:\n%s", out)
	}
	l := NewLayout(cfg.StateDir)
	before := readAll(t, l.CACert, l.ConsulCert, l.VaultCert, l.ConsulGossipKey, l.ConsulFragment)

	second, out := runCerts(t, cfg)
	if second.Changed() {
		t.Errorf("second run changed %d objects:\n%s", second.Count(), out)
	}
	if !strings.HasSuffix(out, "certs: no changes\n") {
		t.Errorf("second run output does not end with %q:\n%s", "certs: no changes", out)
	}
	if after := readAll(t, l.CACert, l.ConsulCert, l.VaultCert, l.ConsulGossipKey, l.ConsulFragment); after != before {
		t.Error("second run rewrote files")
	}
}

func TestCertsRenewsServerCertificates(t *testing.T) {
	cfg := testConfig(t)
	runCerts(t, cfg)
	l := NewLayout(cfg.StateDir)
	old := readCert(t, l.ConsulCert)

	cfg.Now = func() time.Time { return fixedNow.Add(DefaultServerCertTTL * 3 / 4) }
	result, out := runCerts(t, cfg)
	renewed := readCert(t, l.ConsulCert)
	if renewed.SerialNumber.Cmp(old.SerialNumber) == 0 {
		t.Fatalf("Consul certificate was not renewed with a quarter of its lifetime left:\n%s", out)
	}
	if !slices.Contains(result.Changes, Change{Step: "consul-server-cert", Object: l.ConsulCert, Status: Updated}) {
		t.Errorf("renewal not reported as updated:\n%s", out)
	}
	if slices.ContainsFunc(result.Changes, func(c Change) bool { return c.Step == "root-ca" && c.Status != Unchanged }) {
		t.Error("renewal replaced the root CA")
	}
}

func TestCertsServerNames(t *testing.T) {
	cfg := testConfig(t)
	runCerts(t, cfg)
	l := NewLayout(cfg.StateDir)
	roots := x509.NewCertPool()
	roots.AddCert(readCert(t, l.CACert))
	tests := []struct {
		desc   string
		file   string
		names  []string
		usages []x509.ExtKeyUsage
	}{
		{"consul", l.ConsulCert, []string{"server.dc1.consul", "localhost", "consul", "consul.example", "127.0.0.1"},
			[]x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}},
		{"vault", l.VaultCert, []string{"vault", "localhost", "127.0.0.1"}, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}},
		{"engine", l.EngineCert, nil, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}},
		{"operator", l.OperatorCert, nil, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}},
		{"gateway public", l.GatewayCert, []string{"localhost", "127.0.0.1", "::1", "gateway"},
			[]x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}},
		{"redis", l.RedisCert, []string{"localhost", "127.0.0.1", "::1", "redis", "172.30.53.12"},
			[]x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			cert := readCert(t, tt.file)
			for _, name := range tt.names {
				_, err := cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: name, CurrentTime: fixedNow, KeyUsages: tt.usages})
				if err != nil {
					t.Errorf("verify for %s: %v", name, err)
				}
			}
			if len(tt.names) == 0 && (len(cert.DNSNames) > 0 || len(cert.IPAddresses) > 0) {
				t.Errorf("client certificate carries names %v %v", cert.DNSNames, cert.IPAddresses)
			}
			if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: "evil.example", CurrentTime: fixedNow,
				KeyUsages: tt.usages}); err == nil {
				t.Error("certificate verifies for evil.example")
			}
		})
	}
}

func TestCertsGossipKeyAndFragments(t *testing.T) {
	cfg := testConfig(t)
	_, out := runCerts(t, cfg)
	l := NewLayout(cfg.StateDir)
	key := strings.TrimSpace(readAll(t, l.ConsulGossipKey))
	raw, err := base64.StdEncoding.DecodeString(key)
	if err != nil || len(raw) != 32 {
		t.Fatalf("gossip key is not 32 base64-encoded bytes (%d, %v)", len(raw), err)
	}
	consul := readAll(t, l.ConsulFragment)
	for _, want := range []string{
		`encrypt     = "` + key + `"`, "https    = 18501", "serf_lan = 18301", "server   = 18300",
		`ca_file   = "` + l.CACert + `"`, `data_dir    = "` + l.ConsulDataDir + `"`, `datacenter  = "dc1"`,
	} {
		if !strings.Contains(consul, want) {
			t.Errorf("Consul fragment lacks %q:\n%s", want, consul)
		}
	}
	vault := readAll(t, l.VaultFragment)
	for _, want := range []string{`address         = "127.0.0.1:18200"`, `cluster_address = "127.0.0.1:18201"`,
		"tls_disable     = false", `tls_min_version = "tls13"`, `api_addr     = "https://127.0.0.1:18200"`} {
		if !strings.Contains(vault, want) {
			t.Errorf("Vault fragment lacks %q:\n%s", want, vault)
		}
	}
	if strings.Contains(out, key) {
		t.Error("report contains the gossip key")
	}
}

func TestCertsServerStateDir(t *testing.T) {
	cfg := testConfig(t)
	cfg.ServerStateDir = "/bulwark/state"
	runCerts(t, cfg)
	consul := readAll(t, NewLayout(cfg.StateDir).ConsulFragment)
	if !strings.Contains(consul, `cert_file = "/bulwark/state/consul/server.pem"`) {
		t.Errorf("Consul fragment does not use the server's view of the state directory:\n%s", consul)
	}
}

func TestCertsRejectsBrokenState(t *testing.T) {
	tests := []struct {
		desc    string
		corrupt func(l Layout) error
		wantErr string
	}{
		{"readable CA key", func(l Layout) error { return os.Chmod(l.CAKey, 0o644) }, "run chmod 600"},
		{"missing CA key", func(l Layout) error { return os.Remove(l.CAKey) }, "found only one of"},
		{"foreign CA key", func(l Layout) error {
			other, err := newAuthority(fixedNow)
			if err != nil {
				return err
			}
			pem, err := encodeKey(other.key)
			if err != nil {
				return err
			}
			return os.WriteFile(l.CAKey, pem, 0o600)
		}, "does not match certificate"},
		{"bad gossip key", func(l Layout) error { return os.WriteFile(l.ConsulGossipKey, []byte("short\n"), 0o600) },
			"delete the file to generate a new key"},
		{"readable gossip key", func(l Layout) error { return os.Chmod(l.ConsulGossipKey, 0o640) }, "has mode 640"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			cfg := testConfig(t)
			runCerts(t, cfg)
			if err := tt.corrupt(NewLayout(cfg.StateDir)); err != nil {
				t.Fatal(err)
			}
			_, err := Certs(context.Background(), cfg)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Certs() error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestServerIPs(t *testing.T) {
	got := serverIPs("0.0.0.0", "127.0.0.1", "10.1.2.3", "consul", "")
	want := []net.IP{net.IPv4(127, 0, 0, 1), net.IPv4(10, 1, 2, 3)}
	if len(got) != len(want) {
		t.Fatalf("serverIPs() = %v, want %v", got, want)
	}
	for i := range want {
		if !got[i].Equal(want[i]) {
			t.Errorf("serverIPs()[%d] = %v, want %v", i, got[i], want[i])
		}
	}
}

func readAll(t *testing.T, paths ...string) string {
	t.Helper()
	var all strings.Builder
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		all.Write(data)
	}
	return all.String()
}

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	cert, err := parseCertPEM([]byte(readAll(t, path)))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return cert
}

func TestCertsNewGatewayHostReissues(t *testing.T) {
	cfg := testConfig(t)
	runCerts(t, cfg)
	l := NewLayout(cfg.StateDir)
	before := readAll(t, l.GatewayCert)
	consulBefore := readAll(t, l.ConsulCert)

	cfg.GatewayHosts = append(cfg.GatewayHosts, "shop.example")
	runCerts(t, cfg)

	if readAll(t, l.GatewayCert) == before {
		t.Fatal("a new -gateway-host kept the old gateway certificate")
	}
	if readAll(t, l.ConsulCert) != consulBefore {
		t.Error("a new gateway host replaced the Consul certificate")
	}
	cert := readCert(t, l.GatewayCert)
	if !slices.Contains(cert.DNSNames, "shop.example") {
		t.Errorf("gateway certificate names %v, want shop.example among them", cert.DNSNames)
	}
	if cert.IsCA {
		t.Error("gateway certificate is a CA")
	}
}

func TestCertsNewRedisHostReissues(t *testing.T) {
	cfg := testConfig(t)
	runCerts(t, cfg)
	l := NewLayout(cfg.StateDir)
	before := readAll(t, l.RedisCert)
	gatewayBefore := readAll(t, l.GatewayCert)

	cfg.RedisHosts = append(cfg.RedisHosts, "10.1.2.3")
	runCerts(t, cfg)

	if readAll(t, l.RedisCert) == before {
		t.Fatal("a new -redis-host kept the old Redis certificate")
	}
	if readAll(t, l.GatewayCert) != gatewayBefore {
		t.Error("a new Redis host replaced the gateway certificate")
	}
	cert := readCert(t, l.RedisCert)
	if !slices.ContainsFunc(cert.IPAddresses, net.ParseIP("10.1.2.3").Equal) {
		t.Errorf("Redis certificate addresses %v, want 10.1.2.3 among them", cert.IPAddresses)
	}
	if slices.Contains(cert.DNSNames, "10.1.2.3") {
		t.Error("Redis certificate carries an IP address as a DNS name")
	}
	if cert.IsCA {
		t.Error("Redis certificate is a CA")
	}
}
