package bootstrap

import (
	"context"
	"fmt"
	"strings"
	"time"

	vault "github.com/hashicorp/vault/api"
)

// Mount paths in Vault.
const (
	PKIMount     = "pki_int"
	ConsulMount  = "consul"
	AppRoleMount = "approle"
)

// vaultMounts enables the PKI and Consul secrets engines and the AppRole auth
// method, and sets their maximum lease TTLs.
func vaultMounts(ctx context.Context, client *vault.Client, cfg Config, rec *recorder) error {
	const step = "vault-mounts"
	mounts, err := client.Sys().ListMountsWithContext(ctx)
	if err != nil {
		return fail(step, fmt.Errorf("list secrets engines: %w", err), "check that the root token file belongs to this Vault")
	}
	for _, m := range []struct {
		path, kind, description string
		maxTTL                  time.Duration
	}{
		{PKIMount, "pki", "Bulwark intermediate CA: issues service leaf certificates", cfg.CertTTL},
		{ConsulMount, "consul", "Consul ACL tokens, one role per service", cfg.ConsulTokenMaxTTL},
	} {
		existing, ok := mounts[m.path+"/"]
		if ok && existing.Type != m.kind {
			return fail(step, fmt.Errorf("mount %s is of type %s, not %s", m.path, existing.Type, m.kind),
				"disable that mount or start over with an empty Vault")
		}
		if !ok {
			err := client.Sys().MountWithContext(ctx, m.path, &vault.MountInput{
				Type:        m.kind,
				Description: m.description,
				Config:      vault.MountConfigInput{MaxLeaseTTL: m.maxTTL.String()},
			})
			if err != nil {
				return fail(step, fmt.Errorf("enable %s secrets engine at %s: %w", m.kind, m.path, err), "check Vault's log")
			}
			rec.record(step, m.path, Created)
			continue
		}
		if err := tuneMaxTTL(ctx, client, m.path, m.maxTTL, rec, step); err != nil {
			return err
		}
	}

	auths, err := client.Sys().ListAuthWithContext(ctx)
	if err != nil {
		return fail(step, fmt.Errorf("list auth methods: %w", err), "")
	}
	existing, ok := auths[AppRoleMount+"/"]
	if ok && existing.Type != "approle" {
		return fail(step, fmt.Errorf("auth mount %s is of type %s, not approle", AppRoleMount, existing.Type),
			"disable that auth method or start over with an empty Vault")
	}
	authPath := "auth/" + AppRoleMount
	if !ok {
		err := client.Sys().EnableAuthWithOptionsWithContext(ctx, AppRoleMount, &vault.EnableAuthOptions{
			Type:        "approle",
			Description: "One AppRole per Bulwark service",
			Config:      vault.MountConfigInput{MaxLeaseTTL: cfg.AppRoleTokenMaxTTL.String()},
		})
		if err != nil {
			return fail(step, fmt.Errorf("enable AppRole auth at %s: %w", AppRoleMount, err), "check Vault's log")
		}
		rec.record(step, authPath, Created)
		return nil
	}
	return tuneMaxTTL(ctx, client, authPath, cfg.AppRoleTokenMaxTTL, rec, step)
}

// tuneMaxTTL sets the max_lease_ttl of a mount unless it already has it.
func tuneMaxTTL(ctx context.Context, client *vault.Client, path string, maxTTL time.Duration, rec *recorder, step string) error {
	current, err := client.Sys().MountConfigWithContext(ctx, path)
	if err != nil {
		return fail(step, fmt.Errorf("read configuration of mount %s: %w", path, err), "")
	}
	if current.MaxLeaseTTL == seconds(maxTTL) {
		rec.record(step, strings.TrimSuffix(path, "/"), Unchanged)
		return nil
	}
	err = client.Sys().TuneMountWithContext(ctx, path, vault.MountConfigInput{MaxLeaseTTL: maxTTL.String()})
	if err != nil {
		return fail(step, fmt.Errorf("set max_lease_ttl of mount %s: %w", path, err), "")
	}
	rec.record(step, path, Updated)
	return nil
}
