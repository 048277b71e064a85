package bootstrap

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/template"

	vault "github.com/hashicorp/vault/api"

	"github.com/bulwark-go/bulwark/platform/security/identity"
)

// VaultPolicyName returns the name of the Vault policy of a service.
func VaultPolicyName(service string) string {
	return "service-" + service
}

// vaultPolicyTemplate is the file, relative to the infra directory, from
// which every service's Vault policy is rendered.
var vaultPolicyTemplate = filepath.Join("vault", "policies", "service.hcl.tmpl")

// renderVaultPolicy renders the Vault policy of one service.
func renderVaultPolicy(tmpl *template.Template, name string) (string, error) {
	var buf bytes.Buffer
	err := tmpl.Execute(&buf, map[string]string{
		"Name":    name,
		"URI":     identity.URI(name),
		"DNSName": identity.DNSName(name),
	})
	if err != nil {
		return "", fmt.Errorf("render Vault policy of %q: %w", name, err)
	}
	return buf.String(), nil
}

// vaultPolicies writes one Vault policy per service.
func vaultPolicies(ctx context.Context, client *vault.Client, cfg Config, rec *recorder) error {
	const step = "vault-policy"
	path := filepath.Join(cfg.InfraDir, vaultPolicyTemplate)
	text, err := os.ReadFile(path)
	if err != nil {
		return fail(step, fmt.Errorf("read policy template: %w", err), "pass the infra directory of the repository")
	}
	tmpl, err := template.New(filepath.Base(path)).Option("missingkey=error").Parse(string(text))
	if err != nil {
		return fail(step, fmt.Errorf("parse %s: %w", path, err), "fix the template syntax")
	}
	for _, service := range cfg.Services {
		policy, err := renderVaultPolicy(tmpl, service.Name)
		if err != nil {
			return fail(step, err, "")
		}
		name := VaultPolicyName(service.Name)
		current, err := client.Sys().GetPolicyWithContext(ctx, name)
		if err != nil && !isNotFound(err) {
			return fail(step, fmt.Errorf("read policy %s: %w", name, err), "")
		}
		if strings.TrimSpace(current) == strings.TrimSpace(policy) {
			rec.record(step, name, Unchanged)
			continue
		}
		if err := client.Sys().PutPolicyWithContext(ctx, name, policy); err != nil {
			return fail(step, fmt.Errorf("write policy %s: %w", name, err), "check the rendered HCL of "+path)
		}
		rec.recordWrite(step, name, current != "", true)
	}
	return nil
}

// appRole returns the AppRole of one service. Its tokens carry only the
// service's policy (not Vault's default policy), and logging in needs both
// the role_id and a secret_id.
//
// NOTE: the secret_id never expires and has unlimited uses, which suits a
// local stack whose credentials are files. Production deployments deliver
// secret_ids with response wrapping and set secret_id_ttl and
// secret_id_num_uses.
func appRole(name string, cfg Config) map[string]any {
	return map[string]any{
		"token_policies":          []string{VaultPolicyName(name)},
		"token_no_default_policy": true,
		"token_type":              "service",
		"token_ttl":               cfg.AppRoleTokenTTL,
		"token_max_ttl":           cfg.AppRoleTokenMaxTTL,
		"bind_secret_id":          true,
		"secret_id_num_uses":      0,
		"secret_id_ttl":           0,
	}
}

// vaultAppRoles writes one AppRole per service.
func vaultAppRoles(ctx context.Context, client *vault.Client, cfg Config, rec *recorder) error {
	for _, service := range cfg.Services {
		path := "auth/" + AppRoleMount + "/role/" + service.Name
		if err := syncVaultObject(ctx, client, "vault-approle", path, appRole(service.Name, cfg), cfg, rec); err != nil {
			return err
		}
	}
	return nil
}

// appRoleCredentials writes each service's role_id and a valid secret_id to
// the service's own directory. A secret_id file that Vault still accepts is
// kept; a missing or rejected one is replaced by a new secret_id.
func appRoleCredentials(ctx context.Context, client *vault.Client, cfg Config, l Layout, rec *recorder) error {
	const step = "approle-credentials"
	for _, service := range cfg.Services {
		role := "auth/" + AppRoleMount + "/role/" + service.Name
		if err := ensureDir(l.ServiceDir(service.Name), modeSecretDir); err != nil {
			return fail(step, err, "check that the state directory is writable")
		}

		secret, err := client.Logical().ReadWithContext(ctx, role+"/role-id")
		if err != nil || secret == nil {
			return fail(step, fmt.Errorf("read role_id of %s: %v", service.Name, err), "run the bootstrap again")
		}
		roleID, _ := secret.Data["role_id"].(string)
		if roleID == "" {
			return fail(step, fmt.Errorf("Vault returned an empty role_id for %s", service.Name), "")
		}
		path := l.ServiceRoleID(service.Name)
		_, statErr := os.Stat(path)
		wrote, err := syncFile(path, []byte(roleID+"\n"), modeSecretFile)
		if err != nil {
			return fail(step, err, "")
		}
		rec.recordWrite(step, path, statErr == nil, wrote)

		path = l.ServiceSecretID(service.Name)
		existing, readErr := readSecretFile(path)
		if readErr == nil {
			lookup, err := client.Logical().WriteWithContext(ctx, role+"/secret-id/lookup", map[string]any{"secret_id": existing})
			if err != nil && !isNotFound(err) {
				return fail(step, fmt.Errorf("look up secret_id of %s: %w", service.Name, err), "")
			}
			if err == nil && lookup != nil {
				rec.record(step, path, Unchanged)
				continue
			}
		}
		secret, err = client.Logical().WriteWithContext(ctx, role+"/secret-id", map[string]any{
			"metadata": fmt.Sprintf(`{"service":%q}`, service.Name),
		})
		if err != nil || secret == nil {
			return fail(step, fmt.Errorf("create secret_id of %s: %v", service.Name, err), "check Vault's log")
		}
		secretID, _ := secret.Data["secret_id"].(string)
		if secretID == "" {
			return fail(step, fmt.Errorf("Vault returned an empty secret_id for %s", service.Name), "")
		}
		if err := writeFile(path, []byte(secretID+"\n"), modeSecretFile); err != nil {
			return fail(step, err, "")
		}
		rec.recordWrite(step, path, readErr == nil, true)
	}
	return nil
}
