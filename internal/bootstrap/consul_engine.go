package bootstrap

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	consul "github.com/hashicorp/consul/api"
	vault "github.com/hashicorp/vault/api"
)

// vaultConsulEngine configures Vault's Consul secrets engine: Consul's HTTPS
// address, the root CA to verify it, the engine's client certificate and a
// Consul token that may manage ACL tokens.
//
// Vault never returns the token or the certificates it stores, so the state
// directory keeps a fingerprint of what was written. The configuration is
// rewritten when the fingerprint, the address or the scheme differs.
func vaultConsulEngine(ctx context.Context, vc *vault.Client, cc *consul.Client, cfg Config, l Layout, rec *recorder) error {
	const step = "vault-consul-engine"
	token, _, err := ensureToken(cc, engineTokenDescription, ConsulEnginePolicy)
	if err != nil {
		return fail(step, err, "check that the management token is valid")
	}
	caPEM, certPEM, keyPEM, err := readFiles(l.CACert, l.EngineCert, l.EngineKey)
	if err != nil {
		return fail(step, err, "run `bulwark bootstrap certs` first")
	}
	want := map[string]any{
		"address":     cfg.Consul.AddressForVault,
		"scheme":      "https",
		"token":       token,
		"ca_cert":     caPEM,
		"client_cert": certPEM,
		"client_key":  keyPEM,
	}
	fingerprint := engineFingerprint(want)
	fingerprintFile := filepath.Join(l.VaultDir, "consul-engine.sha256")
	path := ConsulMount + "/config/access"

	current, err := vc.Logical().ReadWithContext(ctx, path)
	existed := err == nil && current != nil
	if existed {
		saved, _ := os.ReadFile(fingerprintFile)
		if current.Data["address"] == want["address"] && current.Data["scheme"] == "https" &&
			strings.TrimSpace(string(saved)) == fingerprint {
			rec.record(step, path, Unchanged)
			return nil
		}
	}
	if _, err := vc.Logical().WriteWithContext(ctx, path, want); err != nil {
		return fail(step, fmt.Errorf("write %s: %w", path, err), "check Vault's log")
	}
	if err := writeFile(fingerprintFile, []byte(fingerprint+"\n"), modeSecretFile); err != nil {
		return fail(step, err, "")
	}
	rec.recordWrite(step, path, existed, true)
	return nil
}

// engineFingerprint hashes the engine configuration. The token is a random
// UUID, so its SHA-256 hash reveals nothing usable.
func engineFingerprint(config map[string]any) string {
	h := sha256.New()
	for _, key := range []string{"address", "scheme", "token", "ca_cert", "client_cert", "client_key"} {
		fmt.Fprintf(h, "%s=%v\n", key, config[key])
	}
	return hex.EncodeToString(h.Sum(nil))
}

func readFiles(paths ...string) (string, string, string, error) {
	var out [3]string
	for i, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			return "", "", "", err
		}
		out[i] = string(data)
	}
	return out[0], out[1], out[2], nil
}

// consulRole returns the Consul secrets-engine role of one service: its
// tokens carry only the service's Consul ACL policy, and Vault deletes each
// token when its lease expires or is revoked.
func consulRole(name string, cfg Config) map[string]any {
	return map[string]any{
		"consul_policies": []string{ConsulPolicyName(name)},
		"ttl":             cfg.ConsulTokenTTL,
		"max_ttl":         cfg.ConsulTokenMaxTTL,
		"local":           false,
	}
}

// vaultConsulRoles writes one Consul secrets-engine role per service.
func vaultConsulRoles(ctx context.Context, client *vault.Client, cfg Config, rec *recorder) error {
	for _, service := range cfg.Services {
		path := ConsulMount + "/roles/" + service.Name
		if err := syncVaultObject(ctx, client, "vault-consul-role", path, consulRole(service.Name, cfg), cfg, rec); err != nil {
			return err
		}
	}
	return nil
}
