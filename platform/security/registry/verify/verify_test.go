package verify

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeFile writes content to a 0600 file in dir and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// clientFiles writes an untrusted CA and a client certificate and key signed
// by it, which is enough to build a prober.
func clientFiles(t *testing.T) (caFile, certFile, keyFile string) {
	t.Helper()
	cert, err := untrustedLeaf("client")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile = writeFile(t, dir, "ca.pem",
		string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[1]})))
	certFile = writeFile(t, dir, "cert.pem",
		string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]})))
	keyFile = writeFile(t, dir, "key.pem", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})))
	return caFile, certFile, keyFile
}

func TestConfigValidate(t *testing.T) {
	caFile, certFile, keyFile := clientFiles(t)
	valid := func() Config {
		return Config{Address: "127.0.0.1:8501", CAFile: caFile, CertFile: certFile, KeyFile: keyFile}
	}
	tests := []struct {
		desc    string
		change  func(c *Config)
		wantErr string
	}{
		{desc: "valid", change: func(*Config) {}},
		{desc: "https prefix", change: func(c *Config) { c.Address = "https://127.0.0.1:8501" }, wantErr: "scheme"},
		{desc: "no CA", change: func(c *Config) { c.CAFile = "" }, wantErr: "CA file is missing"},
		{desc: "no certificate", change: func(c *Config) { c.CertFile = "" }, wantErr: "certificate file is missing"},
		{desc: "no key", change: func(c *Config) { c.KeyFile = "" }, wantErr: "key file is missing"},
		{desc: "negative timeout", change: func(c *Config) { c.Timeout = -1 }, wantErr: "negative"},
		{
			desc:    "invalid service name",
			change:  func(c *Config) { c.ServiceTokens = map[string]string{"Orders": "/tmp/x"} },
			wantErr: `service token for "Orders"`,
		},
		{
			desc:    "empty token path",
			change:  func(c *Config) { c.ServiceTokens = map[string]string{"orders": ""} },
			wantErr: "token file of service",
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			c := valid()
			tt.change(&c)
			err := c.validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("validate = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("validate = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestRunRejectsUnreadableFiles(t *testing.T) {
	caFile, certFile, keyFile := clientFiles(t)
	dir := t.TempDir()
	empty := writeFile(t, dir, "empty-token", "\n")
	notPEM := writeFile(t, dir, "not-pem", "hello")
	tests := []struct {
		desc    string
		cfg     Config
		wantErr string
	}{
		{
			desc:    "CA file missing",
			cfg:     Config{Address: "127.0.0.1:1", CAFile: filepath.Join(dir, "nope"), CertFile: certFile, KeyFile: keyFile},
			wantErr: "read the CA file",
		},
		{
			desc:    "CA file without certificate",
			cfg:     Config{Address: "127.0.0.1:1", CAFile: notPEM, CertFile: certFile, KeyFile: keyFile},
			wantErr: "contains no PEM certificate",
		},
		{
			desc:    "key does not match",
			cfg:     Config{Address: "127.0.0.1:1", CAFile: caFile, CertFile: certFile, KeyFile: notPEM},
			wantErr: "load the client certificate",
		},
		{
			desc: "empty token file",
			cfg: Config{Address: "127.0.0.1:1", CAFile: caFile, CertFile: certFile, KeyFile: keyFile,
				ServiceTokens: map[string]string{"orders": empty}},
			wantErr: "is empty",
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			_, err := Run(context.Background(), tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Run = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestUntrustedServerCheck(t *testing.T) {
	caFile, certFile, keyFile := clientFiles(t)
	p, err := newProber(Config{Address: "127.0.0.1:8501", CAFile: caFile, CertFile: certFile, KeyFile: keyFile,
		Timeout: DefaultTimeout})
	if err != nil {
		t.Fatal(err)
	}
	got := p.checkUntrustedServer(context.Background())
	if got.Status != Pass {
		t.Fatalf("check = %+v, want PASS", got)
	}
	if !strings.Contains(got.Evidence, "certificate") {
		t.Errorf("evidence %q does not name the certificate error", got.Evidence)
	}
}

func TestCleanRedactsTokens(t *testing.T) {
	p := &prober{tokens: map[string]string{"orders": "secret-orders-token"}}
	got := p.clean("token secret-orders-token\nis\tdenied " + strings.Repeat("x", 300))
	if strings.Contains(got, "secret-orders-token") {
		t.Errorf("clean kept the token: %q", got)
	}
	if strings.Contains(got, "\n") || len(got) > maxEvidence+3 {
		t.Errorf("clean returned %d bytes over several lines: %q", len(got), got)
	}
	if p.clean("") != "(empty body)" {
		t.Errorf("clean of an empty body = %q", p.clean(""))
	}
}

func TestWriteAndFailed(t *testing.T) {
	results := []Result{pass("first", "HTTP 403: denied"), fail("second", "HTTP 200: stored")}
	var out bytes.Buffer
	if err := Write(&out, results); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("Write printed %d lines, want a header and 2 results:\n%s", len(lines), out.String())
	}
	if !strings.HasPrefix(lines[1], "PASS") || !strings.Contains(lines[2], "HTTP 200: stored") {
		t.Errorf("Write printed:\n%s", out.String())
	}
	if !Failed(results) {
		t.Error("Failed = false with a FAIL result")
	}
	if Failed(results[:1]) {
		t.Error("Failed = true with only PASS results")
	}
}

func TestDescribe(t *testing.T) {
	got := describe([]authorization{
		{Resource: "service", Segment: "orders", Access: "write", Allow: true},
		{Resource: "acl", Access: "write"},
	})
	want := "service:write on orders allowed, acl:write denied"
	if got != want {
		t.Errorf("describe = %q, want %q", got, want)
	}
}
