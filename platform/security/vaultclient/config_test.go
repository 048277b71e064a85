package vaultclient

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestValidateAddress(t *testing.T) {
	tests := []struct {
		desc    string
		address string
		wantErr string
	}{
		{desc: "https with port", address: "https://127.0.0.1:8200"},
		{desc: "https with slash", address: "https://vault.example/"},
		{desc: "empty", address: "", wantErr: "not set"},
		{desc: "plain http", address: "http://127.0.0.1:8200", wantErr: `"http://127.0.0.1:8200" is not https://`},
		{desc: "no scheme", address: "127.0.0.1:8200", wantErr: "is not"},
		{desc: "no host", address: "https://", wantErr: "has no host"},
		{desc: "path", address: "https://vault.example/v1", wantErr: "has a path"},
		{desc: "query", address: "https://vault.example?x=1", wantErr: "has a path"},
		{desc: "user info", address: "https://u:p@vault.example", wantErr: "user information"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			err := ValidateAddress(tt.address)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ValidateAddress(%q) = %v, want nil", tt.address, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ValidateAddress(%q) = %v, want an error containing %q", tt.address, err, tt.wantErr)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	valid := Config{Address: "https://127.0.0.1:8200", CAFile: "ca.pem", RoleIDFile: "r", SecretIDFile: "s"}
	tests := []struct {
		desc    string
		change  func(*Config)
		wantErr string
	}{
		{desc: "valid", change: func(*Config) {}},
		{desc: "no CA file", change: func(c *Config) { c.CAFile = "" }, wantErr: "CA file is not set"},
		{desc: "no role_id file", change: func(c *Config) { c.RoleIDFile = "" }, wantErr: "role_id file"},
		{desc: "no secret_id file", change: func(c *Config) { c.SecretIDFile = "" }, wantErr: "secret_id file"},
		{desc: "bad mount", change: func(c *Config) { c.AuthMount = "/" }, wantErr: "AppRole mount"},
		{desc: "short retry", change: func(c *Config) { c.MaxRetryDelay = time.Millisecond }, wantErr: "below one second"},
		{desc: "plaintext", change: func(c *Config) { c.Address = "http://x:1" }, wantErr: "not https://"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			cfg := valid
			tt.change(&cfg)
			cfg.setDefaults()
			err := cfg.validate()
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

func TestReadSecretFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const secret = "s.very-secret-value"
	tests := []struct {
		desc     string
		path     string
		want     string
		wantErr  string
		wantWarn bool
	}{
		{desc: "trimmed", path: write("ok", secret+"\n", 0o600), want: secret},
		{desc: "missing", path: filepath.Join(dir, "missing"), wantErr: "no such file"},
		{desc: "empty", path: write("empty", " \n", 0o600), wantErr: "is empty"},
		{desc: "two words", path: write("two", secret+" "+secret, 0o600), wantErr: "more than one word"},
		{desc: "directory", path: dir, wantErr: "not a regular file"},
		{desc: "world readable", path: write("open", secret, 0o644), want: secret, wantWarn: true},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			var logs bytes.Buffer
			log := slog.New(slog.NewJSONHandler(&logs, nil))
			got, err := readSecretFile(tt.path, "secret_id", log)
			if err != nil && strings.Contains(err.Error(), secret) {
				t.Fatalf("error %q contains the secret", err)
			}
			if strings.Contains(logs.String(), secret) {
				t.Fatalf("log %q contains the secret", logs.String())
			}
			if gotWarn := strings.Contains(logs.String(), "chmod 600"); gotWarn != tt.wantWarn {
				t.Fatalf("warning logged = %v, want %v (log %q)", gotWarn, tt.wantWarn, logs.String())
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("readSecretFile = %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("readSecretFile: %v", err)
			}
			if got != tt.want {
				t.Fatalf("readSecretFile = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLoadCAFileRejectsNonPEM(t *testing.T) {
	p := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(p, []byte("not a certificate"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCAFile(p); err == nil || !strings.Contains(err.Error(), "contains no PEM certificate") {
		t.Fatalf("LoadCAFile = %v, want a no-PEM error", err)
	}
}
