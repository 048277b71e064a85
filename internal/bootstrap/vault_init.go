package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"os"

	vault "github.com/hashicorp/vault/api"
)

// vaultInit initializes Vault with one unseal key share and saves the key
// and the root token to 0600 files. A Vault that is already initialized is
// left alone, but its key and token files must exist.
func vaultInit(ctx context.Context, cfg Config, l Layout, rec *recorder) error {
	const step = "vault-init"
	client, err := newVaultClient(cfg, l, "")
	if err != nil {
		return fail(step, err, "run `bulwark bootstrap certs` first")
	}
	initialized, err := client.Sys().InitStatusWithContext(ctx)
	if err != nil {
		return fail(step, fmt.Errorf("read init status of %s: %w", cfg.Vault.Address, err),
			"start Vault with infra/vault/server.hcl and the generated fragment, and check the address")
	}

	if initialized {
		for _, path := range []string{l.VaultUnsealKey, l.VaultRootToken} {
			if _, err := readSecretFile(path); err != nil {
				return fail(step, fmt.Errorf("Vault is initialized but %w", err),
					"restore the unseal key and root token files, or start over with an empty Vault data directory")
			}
		}
		rec.record(step, cfg.Vault.Address, Unchanged)
		return nil
	}

	for _, path := range []string{l.VaultUnsealKey, l.VaultRootToken} {
		if _, err := os.Stat(path); err == nil {
			return fail(step, fmt.Errorf("Vault is not initialized but %s exists from an earlier Vault", path),
				"move the old unseal key and root token files away, then run the bootstrap again")
		}
	}

	// NOTE: one key share is for the local stack only. A production Vault
	// uses auto-unseal (seal "awskms", "gcpckms", "transit" and others).
	response, err := client.Sys().InitWithContext(ctx, &vault.InitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		return fail(step, fmt.Errorf("initialize Vault: %w", err), "check Vault's log")
	}
	if len(response.KeysB64) != 1 || response.RootToken == "" {
		return fail(step, errors.New("Vault returned no unseal key or no root token"), "check Vault's log")
	}

	if err := writeFile(l.VaultUnsealKey, []byte(response.KeysB64[0]+"\n"), modeSecretFile); err != nil {
		return fail(step, err, "Vault is initialized but the unseal key is lost: start over with an empty Vault data directory")
	}
	if err := writeFile(l.VaultRootToken, []byte(response.RootToken+"\n"), modeSecretFile); err != nil {
		return fail(step, err, "Vault is initialized but the root token is lost: start over with an empty Vault data directory")
	}
	rec.record(step, cfg.Vault.Address, Created)
	return nil
}

// vaultUnseal unseals Vault with the saved key. An unsealed Vault counts as
// unchanged.
func vaultUnseal(ctx context.Context, cfg Config, l Layout, rec *recorder) error {
	const step = "vault-unseal"
	client, err := newVaultClient(cfg, l, "")
	if err != nil {
		return fail(step, err, "")
	}
	status, err := client.Sys().SealStatusWithContext(ctx)
	if err != nil {
		return fail(step, fmt.Errorf("read seal status: %w", err), "check that Vault is running")
	}
	if !status.Sealed {
		rec.record(step, cfg.Vault.Address, Unchanged)
		return nil
	}
	key, err := readSecretFile(l.VaultUnsealKey)
	if err != nil {
		return fail(step, err, "restore the unseal key file")
	}
	status, err = client.Sys().UnsealWithContext(ctx, key)
	if err != nil {
		return fail(step, fmt.Errorf("unseal Vault: %w", err), "check that the unseal key file belongs to this Vault")
	}
	if status.Sealed {
		return fail(step, errors.New("Vault is still sealed after the unseal key was accepted"),
			"check Vault's log for the seal threshold")
	}
	rec.record(step, cfg.Vault.Address, Updated)
	return nil
}

// Unseal unseals a Vault that the bootstrap initialized, for example after a
// restart. It does nothing when Vault is already unsealed.
func Unseal(ctx context.Context, cfg Config) error {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return err
	}
	rec := &recorder{out: cfg.Report, log: cfg.Log}
	return vaultUnseal(ctx, cfg, NewLayout(cfg.StateDir), rec)
}
