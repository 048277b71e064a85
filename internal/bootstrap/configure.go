package bootstrap

import (
	"context"
	"errors"
	"path/filepath"
	"time"
)

// Configure runs the second phase against running Consul and Vault servers
// that were started with the fragments of Certs. Each step reports the
// objects it checked; a failure names the step and the fix.
func Configure(ctx context.Context, cfg Config) (Result, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return Result{}, err
	}
	if cfg.InfraDir == "" {
		return Result{}, errors.New("bootstrap: infra directory is not set; pass the repository's infra directory")
	}
	if len(cfg.Services) == 0 {
		services, err := LoadServices(filepath.Join(cfg.InfraDir, "services.yaml"))
		if err != nil {
			return Result{}, err
		}
		cfg.Services = services
	} else if err := ValidateServices(cfg.Services); err != nil {
		return Result{}, err
	}
	rec := &recorder{out: cfg.Report, log: cfg.Log}
	l := NewLayout(cfg.StateDir)
	cfg.Log.Info("bootstrap phase started", "phase", "configure",
		"consul", cfg.Consul.Address, "vault", cfg.Vault.Address, "services", len(cfg.Services))
	started := time.Now()

	ca, err := loadAuthority(l.CACert, l.CAKey, cfg.Now())
	if err != nil {
		return rec.result, fail("root-ca", err, "run `bulwark bootstrap certs` first")
	}
	if err := vaultInit(ctx, cfg, l, rec); err != nil {
		return rec.result, err
	}
	if err := vaultUnseal(ctx, cfg, l, rec); err != nil {
		return rec.result, err
	}

	managementToken, err := consulACLBootstrap(ctx, cfg, l, rec)
	if err != nil {
		return rec.result, err
	}
	consulClient, err := newConsulClient(cfg, l, managementToken)
	if err != nil {
		return rec.result, fail("consul-client", err, "")
	}
	if err := consulPolicies(consulClient, cfg, rec); err != nil {
		return rec.result, err
	}
	if err := consulAgentToken(consulClient, cfg, l, rec); err != nil {
		return rec.result, err
	}

	rootToken, err := readSecretFile(l.VaultRootToken)
	if err != nil {
		return rec.result, fail("vault-client", err, "restore the root token file")
	}
	vaultClient, err := newVaultClient(cfg, l, rootToken)
	if err != nil {
		return rec.result, fail("vault-client", err, "")
	}
	steps := []func() error{
		func() error { return vaultMounts(ctx, vaultClient, cfg, rec) },
		func() error { return vaultIntermediate(ctx, vaultClient, cfg, ca, rec) },
		func() error { return vaultPKIRoles(ctx, vaultClient, cfg, rec) },
		func() error { return vaultPolicies(ctx, vaultClient, cfg, rec) },
		func() error { return vaultAppRoles(ctx, vaultClient, cfg, rec) },
		func() error { return appRoleCredentials(ctx, vaultClient, cfg, l, rec) },
		func() error { return vaultConsulEngine(ctx, vaultClient, consulClient, cfg, l, rec) },
		func() error { return vaultConsulRoles(ctx, vaultClient, cfg, rec) },
	}
	for _, step := range steps {
		if err := ctx.Err(); err != nil {
			return rec.result, err
		}
		if err := step(); err != nil {
			return rec.result, err
		}
	}
	// NOTE: a service removed from services.yaml keeps its PKI role,
	// AppRole, policies and Consul role until someone deletes them.
	rec.summarize("configure")
	cfg.Log.Info("bootstrap phase finished", "phase", "configure",
		"changes", rec.result.Count(), "duration", time.Since(started).Round(time.Millisecond))
	return rec.result, nil
}
