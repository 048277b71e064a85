package vaultclient

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"

	"github.com/bulwark-go/bulwark/internal/testenv"
	"github.com/bulwark-go/bulwark/platform/security/pki/pkitest"
)

func realConfig(env *testenv.Env, service string, logs *bytes.Buffer) Config {
	role := env.AppRoles[service]
	return Config{
		Address:      env.VaultAddr,
		CAFile:       env.CAFile,
		RoleIDFile:   role.RoleIDFile,
		SecretIDFile: role.SecretIDFile,
		Logger:       slog.New(slog.NewJSONHandler(logs, nil)),
	}
}

func TestAgainstVault(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Consul and Vault")
	}
	env := testenv.Start(t, testenv.Options{})
	ctx := context.Background()
	secretID, err := os.ReadFile(env.AppRoles["orders"].SecretIDFile)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("login and read own secrets", func(t *testing.T) {
		var logs bytes.Buffer
		c, err := New(ctx, realConfig(env, "orders", &logs))
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		defer c.Close()
		creds, err := c.API().Logical().ReadWithContext(ctx, "consul/creds/orders")
		if err != nil || creds == nil {
			t.Fatalf("read own Consul creds: %v", err)
		}
		if _, err := c.API().Logical().ReadWithContext(ctx, "consul/creds/users"); err == nil {
			t.Fatal("orders read the Consul creds of users")
		}
		token := c.API().Token()
		if strings.Contains(logs.String(), token) || strings.Contains(logs.String(), strings.TrimSpace(string(secretID))) {
			t.Fatal("logs contain the token or the secret_id")
		}
	})

	t.Run("renewal and login again after revocation", func(t *testing.T) {
		var logs bytes.Buffer
		c, err := New(ctx, realConfig(env, "orders", &logs))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		first := c.API().Token()
		if err := c.refresh(ctx); err != nil {
			t.Fatalf("renewal: %v", err)
		}
		if c.API().Token() != first {
			t.Fatal("renewal replaced the token")
		}
		// Revoking the token makes Vault reject its renewal, so the
		// client must log in again.
		root := rootClient(t, env)
		accessor := c.state.snapshot().accessor
		if _, err := root.Logical().Write("auth/token/revoke-accessor", map[string]any{"accessor": accessor}); err != nil {
			t.Fatalf("revoke token %s: %v", accessor, err)
		}
		if err := c.refresh(ctx); err != nil {
			t.Fatalf("refresh after revocation: %v", err)
		}
		if c.API().Token() == first {
			t.Fatal("token unchanged after revocation")
		}
		if !strings.Contains(logs.String(), "logging in again") {
			t.Fatalf("re-login not logged: %s", logs.String())
		}
	})

	t.Run("wrong secret_id", func(t *testing.T) {
		var logs bytes.Buffer
		cfg := realConfig(env, "orders", &logs)
		cfg.SecretIDFile = writeTemp(t, "00000000-0000-0000-0000-000000000000")
		_, err := New(ctx, cfg)
		if err == nil {
			t.Fatal("login with a wrong secret_id succeeded")
		}
		if strings.Contains(err.Error(), "00000000-0000") {
			t.Fatalf("error %q contains the secret_id", err)
		}
	})

	t.Run("Vault certificate from other CA", func(t *testing.T) {
		var logs bytes.Buffer
		cfg := realConfig(env, "orders", &logs)
		cfg.CAFile = pkitest.NewCA(t).WriteRoot(t, t.TempDir())
		_, err := New(ctx, cfg)
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("New against an untrusted Vault = %v, want a certificate error", err)
		}
	})

	t.Run("plaintext address", func(t *testing.T) {
		var logs bytes.Buffer
		cfg := realConfig(env, "orders", &logs)
		cfg.Address = strings.Replace(env.VaultAddr, "https://", "http://", 1)
		_, err := New(ctx, cfg)
		if err == nil || !strings.Contains(err.Error(), "is not https://") {
			t.Fatalf("New with http:// = %v, want a plaintext error", err)
		}
	})

	t.Run("renewal retries while Vault is down", func(t *testing.T) {
		var logs bytes.Buffer
		c, err := New(ctx, realConfig(env, "orders", &logs))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		env.StopVault(t)
		rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		err = c.refresh(rctx)
		cancel()
		if err == nil {
			t.Fatal("renewal succeeded with Vault stopped")
		}
		if isRejection(err) {
			t.Fatalf("an unreachable Vault was taken for a rejection: %v", err)
		}
		env.StartVault(t)
		if err := c.refresh(ctx); err != nil {
			t.Fatalf("renewal after Vault returned: %v", err)
		}
	})
}

func writeTemp(t *testing.T, content string) string {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "secret")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(content); err != nil {
		t.Fatal(err)
	}
	if err := f.Chmod(0o600); err != nil {
		t.Fatal(err)
	}
	return f.Name()
}

// rootClient returns a Vault client with the root token, to revoke a
// service's token as an operator would.
func rootClient(t *testing.T, env *testenv.Env) *vault.Client {
	t.Helper()
	token, err := os.ReadFile(env.VaultRootTokenFile)
	if err != nil {
		t.Fatal(err)
	}
	c, err := newAPIClient(Config{Address: env.VaultAddr, CAFile: env.CAFile, RequestTimeout: DefaultRequestTimeout})
	if err != nil {
		t.Fatal(err)
	}
	c.SetToken(strings.TrimSpace(string(token)))
	return c
}
