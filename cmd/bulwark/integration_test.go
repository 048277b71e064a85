package main

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/bulwark-go/bulwark/internal/testenv"
)

func TestRunAgainstServers(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	cfg := env.BootstrapConfig()
	flags := []string{
		"-state", cfg.StateDir, "-infra", cfg.InfraDir, "-v",
		"-consul-addr", cfg.Consul.Address,
		"-consul-https-port", strconv.Itoa(cfg.Consul.HTTPSPort),
		"-consul-serf-port", strconv.Itoa(cfg.Consul.SerfLANPort),
		"-consul-server-port", strconv.Itoa(cfg.Consul.ServerPort),
		"-vault-addr", cfg.Vault.Address, "-vault-listen", cfg.Vault.ListenAddr, "-vault-cluster", cfg.Vault.ClusterAddr,
	}
	var secrets []string
	for _, path := range []string{env.ConsulManagementTokenFile, env.VaultRootTokenFile, env.Layout.VaultUnsealKey,
		env.Layout.ConsulAgentToken, env.Layout.ConsulGossipKey} {
		secrets = append(secrets, readTrimmed(t, path))
	}
	for _, role := range env.AppRoles {
		secrets = append(secrets, readTrimmed(t, role.RoleIDFile), readTrimmed(t, role.SecretIDFile))
	}

	for _, phase := range []string{"certs", "configure", "unseal"} {
		t.Run(phase, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), append([]string{"bootstrap", phase}, flags...), &stdout, &stderr)
			if code != 0 {
				t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
			}
			if phase != "unseal" && !strings.HasSuffix(stdout.String(), phase+": no changes\n") {
				t.Errorf("a run after the harness's bootstrap changed something:\n%s", stdout.String())
			}
			if !strings.Contains(stderr.String(), "level=DEBUG") && phase != "unseal" {
				t.Errorf("-v did not enable debug logging:\n%s", stderr.String())
			}
			for i, secret := range secrets {
				if strings.Contains(stdout.String()+stderr.String(), secret) {
					t.Errorf("output contains secret %d", i)
				}
			}
		})
	}
}

func readTrimmed(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(data))
}
