package testenv

import (
	"context"
	"crypto/tls"
	"errors"
	"github.com/bulwark-go/bulwark/internal/redisacl"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestStartStopsEveryProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs Consul and Vault")
	}
	var pids []int
	t.Run("env", func(t *testing.T) {
		env := Start(t, Options{Services: []string{"billing"}, Redis: true, CertTTL: 2 * time.Minute})
		// The restarts below replace the processes, so the IDs to check
		// are taken when the subtest ends.
		t.Cleanup(func() {
			pids = []int{env.consul.pid(), env.vault.pid(), env.redis.pid()}
		})

		t.Run("fields", func(t *testing.T) {
			if !strings.HasPrefix(env.ConsulAddr, "127.0.0.1:") || !strings.HasPrefix(env.VaultAddr, "https://127.0.0.1:") {
				t.Errorf("addresses %q, %q are not loopback", env.ConsulAddr, env.VaultAddr)
			}
			for _, name := range []string{"gateway", "users", "orders", "inventory", "billing"} {
				role, ok := env.AppRoles[name]
				if !ok {
					t.Errorf("no AppRole for %s", name)
					continue
				}
				for _, path := range []string{role.RoleIDFile, role.SecretIDFile} {
					assertMode(t, path, 0o600)
				}
			}
			for _, path := range []string{env.ConsulManagementTokenFile, env.VaultRootTokenFile, env.OperatorKeyFile, env.RedisPasswordFile} {
				assertMode(t, path, 0o600)
			}
			for _, name := range env.Services {
				user, ok := env.RedisUsers[name]
				if !ok || user.Username != name {
					t.Errorf("Redis user of %s is %+v, want the name %q", name, user, name)
					continue
				}
				assertMode(t, user.PasswordFile, 0o600)
				if filepath.Dir(user.PasswordFile) != env.Layout.ServiceDir(name) {
					t.Errorf("Redis password file of %s is %s, want it in %s", name, user.PasswordFile, env.Layout.ServiceDir(name))
				}
			}
			if env.CAPool == nil {
				t.Error("CAPool is nil")
			}
		})

		t.Run("redis requires login and TLS", func(t *testing.T) {
			password, err := os.ReadFile(env.RedisPasswordFile)
			if err != nil {
				t.Fatal(err)
			}
			secret := strings.TrimSpace(string(password))
			user := env.RedisUsername
			config := env.RedisTLSConfig(t)
			ctx := context.Background()
			if err := redisacl.Ping(ctx, env.RedisAddr, user, secret, config); err != nil {
				t.Fatalf("ping with the password: %v", err)
			}
			if err := redisacl.Ping(ctx, env.RedisAddr, user, "wrong-password", config); err == nil {
				t.Fatal("Redis accepted a wrong password")
			}
			if err := redisacl.Ping(ctx, env.RedisAddr, "default", secret, config); err == nil {
				t.Fatal("Redis accepted a login as the default user")
			}
			if err := redisacl.Ping(ctx, env.RedisAddr, user, secret, nil); err == nil {
				t.Fatal("Redis accepted a plaintext connection")
			}
			noCert := config.Clone()
			noCert.Certificates = nil
			if err := redisacl.Ping(ctx, env.RedisAddr, user, secret, noCert); err == nil {
				t.Fatal("Redis accepted a client without a certificate")
			}
			env.StopRedis(t)
			if err := redisacl.Ping(ctx, env.RedisAddr, user, secret, config); err == nil {
				t.Fatal("Redis answers after StopRedis")
			}
			env.StartRedis(t)
			if err := redisacl.Ping(ctx, env.RedisAddr, user, secret, config); err != nil {
				t.Fatalf("ping after StartRedis: %v", err)
			}
		})

		t.Run("redis ACL users", func(t *testing.T) { testRedisACL(t, env) })

		t.Run("vault restart", func(t *testing.T) {
			env.StopVault(t)
			client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: env.CAPool}}, Timeout: 2 * time.Second}
			if response, err := client.Get(env.VaultAddr + "/v1/sys/health"); err == nil {
				response.Body.Close()
				t.Fatal("Vault answers after StopVault")
			}
			env.StartVault(t)
			response, err := client.Get(env.VaultAddr + "/v1/sys/health")
			if err != nil {
				t.Fatal(err)
			}
			response.Body.Close()
			if response.StatusCode != http.StatusOK {
				t.Fatalf("Vault health after StartVault: HTTP %d, want 200 (unsealed, active)", response.StatusCode)
			}
		})

		t.Run("consul restart", func(t *testing.T) {
			env.RestartConsul(t)
			client := &http.Client{Transport: &http.Transport{TLSClientConfig: env.OperatorTLSConfig(t)}, Timeout: 2 * time.Second}
			request, _ := http.NewRequest(http.MethodGet, "https://"+env.ConsulAddr+"/v1/acl/token/self", nil)
			management, err := os.ReadFile(env.ConsulManagementTokenFile)
			if err != nil {
				t.Fatal(err)
			}
			request.Header.Set("X-Consul-Token", strings.TrimSpace(string(management)))
			response, err := client.Do(request)
			if err != nil {
				t.Fatal(err)
			}
			response.Body.Close()
			if response.StatusCode != http.StatusOK {
				t.Fatalf("management token after restart: HTTP %d", response.StatusCode)
			}
		})
	})
	if len(pids) != 3 || slices.Contains(pids, 0) {
		t.Fatalf("a server was not running at the end of the test: process IDs %v", pids)
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("process %d still exists after the test (kill 0: %v)", pid, err)
		}
	}
}

func assertMode(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Error(err)
		return
	}
	if info.Mode().Perm() != mode {
		t.Errorf("%s has mode %o, want %o", path, info.Mode().Perm(), mode)
	}
}

func TestWithExtraServices(t *testing.T) {
	tests := []struct {
		desc    string
		opts    Options
		wantErr string
	}{
		{"extra service", Options{Services: []string{"billing"}}, ""},
		{"policy override", Options{ConsulPolicies: map[string]string{"orders": "service \"orders\" { policy = \"read\" }"}}, ""},
		{"unknown override", Options{ConsulPolicies: map[string]string{"nobody": "x"}}, `names "nobody"`},
		{"duplicate", Options{Services: []string{"orders"}}, "listed twice"},
		{"invalid name", Options{Services: []string{"Billing"}}, "contains 'B'"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			infra, err := findInfraDir()
			if err != nil {
				t.Fatal(err)
			}
			services, err := loadServicesForTest(infra)
			if err != nil {
				t.Fatal(err)
			}
			_, err = withExtraServices(services, tt.opts)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		desc    string
		opts    Options
		wantErr string
	}{
		{"zero value", Options{}, ""},
		{"max TTL with TTL", Options{ConsulTokenTTL: time.Minute, ConsulTokenMaxTTL: time.Minute}, ""},
		{"max TTL above default TTL", Options{ConsulTokenMaxTTL: 2 * time.Hour}, ""},
		{"max TTL below default TTL", Options{ConsulTokenMaxTTL: time.Minute}, "below the Consul token TTL 1h0m0s"},
		{"max TTL below TTL", Options{ConsulTokenTTL: 2 * time.Minute, ConsulTokenMaxTTL: time.Minute}, "below the Consul token TTL 2m0s"},
		{"negative max TTL", Options{ConsulTokenMaxTTL: -time.Second}, "ConsulTokenMaxTTL -1s is negative"},
		{"negative TTL", Options{ConsulTokenTTL: -time.Second}, "ConsulTokenTTL -1s is negative"},
		{"negative cert TTL", Options{CertTTL: -time.Second}, "CertTTL -1s is negative"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			err := tt.opts.validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("validate() = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestFindBinary(t *testing.T) {
	dir := t.TempDir()
	notExecutable := filepath.Join(dir, "consul")
	if err := os.WriteFile(notExecutable, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("BULWARK_CONSUL_BIN", notExecutable)
	_, err := consulServer.find()
	if err == nil || !strings.Contains(err.Error(), "make servers") {
		t.Fatalf("find() error = %v, want one that names make servers", err)
	}

	t.Setenv("BULWARK_CONSUL_BIN", "")
	t.Setenv("XDG_CACHE_HOME", dir)
	t.Setenv("PATH", dir)
	if err := os.Chmod(notExecutable, 0o755); err != nil {
		t.Fatal(err)
	}
	// A consul on PATH that does not report the pinned version is
	// rejected.
	if err := os.WriteFile(notExecutable, []byte("#!/bin/sh\necho 'Consul v1.20.0'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err = consulServer.find()
	if err == nil || !strings.Contains(err.Error(), "not v1.16.3") {
		t.Fatalf("find() error = %v, want a version mismatch", err)
	}
	if err := os.WriteFile(notExecutable, []byte("#!/bin/sh\necho 'Consul v1.16.3'\necho 'Revision x'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if path, err := consulServer.find(); err != nil || path != notExecutable {
		t.Fatalf("find() = %q, %v; want %q", path, err, notExecutable)
	}
}

func TestFreePortsDistinct(t *testing.T) {
	ports, err := freePorts(5)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if p <= 0 || seen[p] {
			t.Fatalf("ports %v are not distinct and positive", ports)
		}
		seen[p] = true
	}
}
