package config

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bulwark-go/bulwark/platform/security/ratelimit"
	"github.com/bulwark-go/bulwark/platform/security/ratelimit/redisstore"
)

func TestNewStoreMemory(t *testing.T) {
	s, err := Load("", loadOpts())
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	metrics, err := ratelimit.NewMetrics(reg, "orders")
	if err != nil {
		t.Fatal(err)
	}
	store, closeStore, err := s.NewStore(StoreOptions{Metrics: metrics})
	if err != nil {
		t.Fatal(err)
	}
	defer closeStore()
	if _, ok := store.(*ratelimit.Memory[ratelimit.Key]); !ok {
		t.Fatalf("store is %T, want *ratelimit.Memory", store)
	}
	if r, err := store.Take(context.Background(), ratelimit.Key{Scope: "e"}, s.Handler.Rules.Default, 0); err != nil || !r.Allowed {
		t.Fatalf("Take = %+v, %v", r, err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range families {
		found = found || f.GetName() == "bulwark_ratelimit_tracked_keys"
	}
	if !found {
		t.Fatal("tracked keys gauge not registered")
	}
}

func TestNewStoreRedis(t *testing.T) {
	dir := t.TempDir()
	password := filepath.Join(dir, "password")
	if err := os.WriteFile(password, []byte("secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Load("", loadOpts("BULWARK_RATELIMIT_STORE_BACKEND=redis",
		"BULWARK_RATELIMIT_REDIS_ADDR=127.0.0.1:1", "BULWARK_RATELIMIT_REDIS_PASSWORD_FILE="+password))
	if err != nil {
		t.Fatal(err)
	}
	store, closeStore, err := s.NewStore(StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer closeStore()
	if _, ok := store.(*redisstore.Store); !ok {
		t.Fatalf("store is %T, want *redisstore.Store", store)
	}

	if err := os.Chmod(password, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.NewStore(StoreOptions{}); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("NewStore with a readable password file = %v, want a mode error", err)
	}
}

func TestNewStoreRedisTLSOptions(t *testing.T) {
	dir := t.TempDir()
	password := filepath.Join(dir, "password")
	if err := os.WriteFile(password, []byte("secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Load("", loadOpts("BULWARK_RATELIMIT_STORE_BACKEND=redis", "BULWARK_RATELIMIT_REDIS_TLS=true",
		"BULWARK_RATELIMIT_REDIS_ADDR=127.0.0.1:1", "BULWARK_RATELIMIT_REDIS_PASSWORD_FILE="+password))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	tests := []struct {
		desc    string
		base    *tls.Config
		wantErr string
	}{
		{"no config", nil, "StoreOptions.RedisTLS is nil"},
		{"no roots", &tls.Config{}, "has no RootCAs"},
		{"skip verify", &tls.Config{RootCAs: roots, InsecureSkipVerify: true}, "InsecureSkipVerify"},
		{"valid", &tls.Config{RootCAs: roots}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			store, closeStore, err := s.NewStore(StoreOptions{RedisTLS: tt.base})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("NewStore = %v", err)
				}
				closeStore()
				if _, ok := store.(*redisstore.Store); !ok {
					t.Fatalf("store is %T, want *redisstore.Store", store)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("NewStore = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestRedisTLSConfigCopy(t *testing.T) {
	base := &tls.Config{RootCAs: x509.NewCertPool(), MinVersion: tls.VersionTLS12}
	config, err := redisTLSConfig(base, "redis")
	if err != nil {
		t.Fatal(err)
	}
	if config.ServerName != "redis" {
		t.Errorf("ServerName = %q, want redis", config.ServerName)
	}
	if config.MinVersion != tls.VersionTLS13 {
		t.Errorf("MinVersion = %#x, want TLS 1.3", config.MinVersion)
	}
	if base.ServerName != "" || base.MinVersion != tls.VersionTLS12 {
		t.Error("redisTLSConfig changed the base config")
	}
}
