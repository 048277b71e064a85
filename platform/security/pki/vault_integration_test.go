package pki_test

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
	"github.com/bulwark-go/bulwark/platform/security/pki"
	"github.com/bulwark-go/bulwark/platform/security/vaultclient"
)

func TestVaultIssuer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Consul and Vault")
	}
	env := testenv.Start(t, testenv.Options{})
	ctx := context.Background()
	login := func(t *testing.T, service string) *vaultclient.Client {
		role := env.AppRoles[service]
		c, err := vaultclient.New(ctx, vaultclient.Config{
			Address: env.VaultAddr, CAFile: env.CAFile, RoleIDFile: role.RoleIDFile, SecretIDFile: role.SecretIDFile,
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		return c
	}
	orders := login(t, "orders")
	bundle, err := pki.LoadBundle(env.CAFile)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("issue own certificate", func(t *testing.T) {
		issuer, err := pki.NewVaultIssuer(orders.API(), "orders")
		if err != nil {
			t.Fatal(err)
		}
		cert, err := issuer.Issue(ctx)
		if err != nil {
			t.Fatalf("Issue: %v", err)
		}
		if err := pki.VerifyLeaf(cert, "orders", bundle.Pool(), time.Now()); err != nil {
			t.Fatalf("issued certificate does not verify: %v", err)
		}
		if len(cert.Leaf.IPAddresses) != 0 {
			t.Fatalf("leaf has IP SANs %v", cert.Leaf.IPAddresses)
		}
	})

	t.Run("another service's certificate is denied", func(t *testing.T) {
		issuer, err := pki.NewVaultIssuer(orders.API(), "users")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := issuer.Issue(ctx); err == nil || !strings.Contains(err.Error(), "permission denied") {
			t.Fatalf("orders issuing a users certificate = %v, want permission denied", err)
		}
	})

	t.Run("sign needs its own capability", func(t *testing.T) {
		issuer, err := pki.NewVaultIssuer(orders.API(), "orders", pki.WithMethod(pki.MethodSign))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := issuer.Issue(ctx); err == nil || !strings.Contains(err.Error(), "permission denied") {
			t.Fatalf("sign without the capability = %v, want permission denied", err)
		}
	})

	t.Run("sign with a local key", func(t *testing.T) {
		root := rootClient(t, env)
		// Grant inventory the sign path in an extra policy.
		if _, err := root.Logical().Write("sys/policies/acl/inventory-sign", map[string]any{
			"policy": `path "pki_int/sign/inventory" { capabilities = ["update"] }`,
		}); err != nil {
			t.Fatal(err)
		}
		role, err := root.Logical().Read("auth/approle/role/inventory")
		if err != nil {
			t.Fatal(err)
		}
		policies := []string{"inventory-sign"}
		for _, p := range role.Data["token_policies"].([]any) {
			policies = append(policies, p.(string))
		}
		if _, err := root.Logical().Write("auth/approle/role/inventory", map[string]any{"token_policies": policies}); err != nil {
			t.Fatal(err)
		}
		inventory := login(t, "inventory")
		issuer, err := pki.NewVaultIssuer(inventory.API(), "inventory", pki.WithMethod(pki.MethodSign))
		if err != nil {
			t.Fatal(err)
		}
		cert, err := issuer.Issue(ctx)
		if err != nil {
			t.Fatalf("Issue with a CSR: %v", err)
		}
		if err := pki.VerifyLeaf(cert, "inventory", bundle.Pool(), time.Now()); err != nil {
			t.Fatalf("signed certificate does not verify: %v", err)
		}
	})

	t.Run("source logs serial and never the key", func(t *testing.T) {
		var logs bytes.Buffer
		issuer, err := pki.NewVaultIssuer(orders.API(), "orders")
		if err != nil {
			t.Fatal(err)
		}
		src, err := pki.NewSource(ctx, pki.Config{Service: "orders", Issuer: issuer, Bundle: bundle,
			Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		cert, err := src.Certificate()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(logs.String(), pki.Serial(cert.Leaf)) {
			t.Fatalf("issue log lacks the serial: %s", logs.String())
		}
		if strings.Contains(logs.String(), "PRIVATE KEY") {
			t.Fatal("log contains a private key")
		}
	})
}

// rootClient returns a Vault client with the root token, for changes of
// the Vault layout that a test needs.
func rootClient(t *testing.T, env *testenv.Env) *vault.Client {
	t.Helper()
	token, err := os.ReadFile(env.VaultRootTokenFile)
	if err != nil {
		t.Fatal(err)
	}
	cfg := vault.DefaultConfig()
	cfg.Address = env.VaultAddr
	if err := cfg.ConfigureTLS(&vault.TLSConfig{CACert: env.CAFile}); err != nil {
		t.Fatal(err)
	}
	c, err := vault.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.SetToken(strings.TrimSpace(string(token)))
	return c
}
