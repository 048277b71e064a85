package bootstrap

import (
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		desc    string
		change  func(c *Config)
		wantErr string
	}{
		{"defaults", func(c *Config) {}, ""},
		{"no state dir", func(c *Config) { c.StateDir = "" }, "state directory is not set"},
		{"relative state dir", func(c *Config) { c.StateDir = "state" }, "not an absolute path"},
		{"relative server state dir", func(c *Config) { c.ServerStateDir = "state" }, "server state directory"},
		{"plain HTTP Vault", func(c *Config) { c.Vault.Address = "http://127.0.0.1:8200" }, "is not https://host:port"},
		{"Vault with path", func(c *Config) { c.Vault.Address = "https://127.0.0.1:8200/v1" }, "is not https://host:port"},
		{"Consul address without port", func(c *Config) { c.Consul.Address = "127.0.0.1" }, "Consul address \"127.0.0.1\" is not host:port"},
		{"port out of range", func(c *Config) { c.Consul.HTTPSPort = 70000 }, "Consul HTTPS port 70000 is out of range"},
		{"cert TTL too short", func(c *Config) { c.CertTTL = time.Second }, "certificate TTL 1s is below the minimum"},
		{"cert TTL too long", func(c *Config) { c.CertTTL = DefaultIntermediateTTL }, "below a third of the intermediate"},
		{"Consul token TTL too short", func(c *Config) { c.ConsulTokenTTL = time.Second }, "Consul token TTL 1s"},
		{"Consul token max below TTL", func(c *Config) { c.ConsulTokenTTL = 2 * time.Hour; c.ConsulTokenMaxTTL = time.Hour },
			"Consul token max TTL 1h0m0s is below its TTL 2h0m0s"},
		{"AppRole max below TTL", func(c *Config) { c.AppRoleTokenTTL = 2 * time.Hour; c.AppRoleTokenMaxTTL = time.Hour },
			"AppRole token max TTL"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			c := Config{StateDir: "/tmp/bulwark-state"}
			tt.change(&c)
			err := c.withDefaults().validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("validate() = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("validate() = %v, want it to contain %q", err, tt.wantErr)
			}
			if !strings.HasPrefix(err.Error(), "bootstrap: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	c := Config{StateDir: "/s", Consul: ConsulSettings{HTTPSPort: 1234}, ConsulTokenTTL: 48 * time.Hour}.withDefaults()
	checks := []struct{ name, got, want string }{
		{"Consul address", c.Consul.Address, "127.0.0.1:1234"},
		{"Consul address for Vault", c.Consul.AddressForVault, "127.0.0.1:1234"},
		{"Vault address", c.Vault.Address, "https://127.0.0.1:8200"},
		{"server state dir", c.ServerStateDir, "/s"},
		{"cert TTL", c.CertTTL.String(), "1h0m0s"},
		{"Consul token max TTL", c.ConsulTokenMaxTTL.String(), "48h0m0s"},
	}
	for _, check := range checks {
		if check.got != check.want {
			t.Errorf("%s = %q, want %q", check.name, check.got, check.want)
		}
	}
}
