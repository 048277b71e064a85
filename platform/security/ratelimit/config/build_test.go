package config

import (
	"context"
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
