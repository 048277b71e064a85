package foundation_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/internal/bootstrap"
	"github.com/bulwark-go/bulwark/internal/testenv"
)

func bootstrapTests(t *testing.T, env *testenv.Env) {
	var rerun bytes.Buffer

	t.Run("second run changes nothing", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cfg := env.BootstrapConfig()
		cfg.Report = &rerun
		cfg.Log = slog.New(slog.NewTextHandler(&rerun, &slog.HandlerOptions{Level: slog.LevelDebug}))
		certs, err := bootstrap.Certs(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		configure, err := bootstrap.Configure(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		for _, result := range []bootstrap.Result{certs, configure} {
			for _, change := range result.Changes {
				if change.Status != bootstrap.Unchanged {
					t.Errorf("second run: %s %s %s", change.Step, change.Object, change.Status)
				}
			}
		}
		for _, want := range []string{"certs: no changes\n", "configure: no changes\n"} {
			if !strings.Contains(rerun.String(), want) {
				t.Errorf("second run output lacks %q:\n%s", want, rerun.String())
			}
		}
	})

	t.Run("output contains no secret", func(t *testing.T) {
		output := env.BootstrapOutput.String() + rerun.String()
		if !strings.Contains(output, "consul-acl-bootstrap") {
			t.Fatalf("bootstrap output is missing; got:\n%s", output)
		}
		for name, secret := range secrets(t, env) {
			if strings.Contains(output, secret) {
				t.Errorf("bootstrap output contains %s", name)
			}
		}
	})
}

// secrets returns every secret the bootstrap created, by a description.
func secrets(t *testing.T, env *testenv.Env) map[string]string {
	t.Helper()
	l := env.Layout
	found := map[string]string{}
	for _, path := range []string{
		l.ConsulManagementToken, l.ConsulAgentToken, l.ConsulGossipKey, l.VaultRootToken, l.VaultUnsealKey,
	} {
		found[filepath.Base(path)] = readSecret(t, path)
	}

	for service, role := range env.AppRoles {
		found[service+" role_id"] = readSecret(t, role.RoleIDFile)
		found[service+" secret_id"] = readSecret(t, role.SecretIDFile)
	}

	for _, path := range []string{l.CAKey, l.ConsulKey, l.VaultKey, l.EngineKey, l.OperatorKey} {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(data), "\n") {
			if len(line) >= 16 && !strings.HasPrefix(line, "-----") {
				found[filepath.Base(path)+" line "+string(rune('0'+i))] = line
			}
		}
	}

	// The token of Vault's Consul secrets engine lives only in Vault and
	// Consul; read it with the management token.
	client := consulClient(t, env, readSecret(t, env.ConsulManagementTokenFile))
	entries, _, err := client.ACL().TokenList(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, entry := range entries {
		token, _, err := client.ACL().TokenRead(entry.AccessorID, nil)
		if err != nil {
			t.Fatal(err)
		}
		if token.SecretID != "anonymous" {
			found["Consul token "+token.Description] = token.SecretID
		}
	}

	for name, secret := range found {
		if len(secret) < 16 {
			t.Fatalf("secret %s is only %d characters; the search would find false matches", name, len(secret))
		}
	}
	return found
}
