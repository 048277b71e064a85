package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"time"

	vault "github.com/hashicorp/vault/api"

	"github.com/bulwark-go/bulwark/platform/security/identity"
)

// vaultIntermediate makes the default issuer of pki_int an intermediate
// signed by the local root. It keeps a current intermediate and replaces one
// that is missing, signed by another root, or due for renewal.
func vaultIntermediate(ctx context.Context, client *vault.Client, cfg Config, ca *authority, rec *recorder) error {
	const step = "vault-pki-intermediate"
	object := PKIMount + "/issuer/default"
	existed := false
	config, err := client.Logical().ReadWithContext(ctx, PKIMount+"/config/issuers")
	if err != nil {
		return fail(step, fmt.Errorf("read issuer configuration of %s: %w", PKIMount, err), "")
	}
	defaultID := ""
	if config != nil {
		defaultID, _ = config.Data["default"].(string)
	}
	if defaultID != "" {
		existed = true
		secret, err := client.Logical().ReadWithContext(ctx, PKIMount+"/issuer/"+defaultID)
		if err != nil {
			return fail(step, fmt.Errorf("read default issuer %s of %s: %w", defaultID, PKIMount, err), "")
		}
		certPEM := ""
		if secret != nil {
			certPEM, _ = secret.Data["certificate"].(string)
		}
		if intermediateCurrent(ca, certPEM, cfg.CertTTL, cfg.Now()) {
			rec.record(step, object, Unchanged)
			return nil
		}
	}

	secret, err := client.Logical().WriteWithContext(ctx, PKIMount+"/intermediate/generate/internal", map[string]any{
		"common_name": intermediateCommonName,
		"key_type":    "ec",
		"key_bits":    256,
	})
	if err != nil {
		return fail(step, fmt.Errorf("generate intermediate CSR: %w", err), "check Vault's log")
	}
	csrPEM, _ := secret.Data["csr"].(string)
	certPEM, err := signIntermediate(ca, csrPEM, DefaultIntermediateTTL, cfg.Now())
	if err != nil {
		return fail(step, err, "")
	}
	secret, err = client.Logical().WriteWithContext(ctx, PKIMount+"/intermediate/set-signed", map[string]any{
		"certificate": string(certPEM) + string(ca.certPEM),
	})
	if err != nil {
		return fail(step, fmt.Errorf("import signed intermediate: %w", err), "check Vault's log")
	}
	issuerID, err := importedIssuerWithKey(secret)
	if err != nil {
		return fail(step, err, "")
	}
	_, err = client.Logical().WriteWithContext(ctx, PKIMount+"/config/issuers", map[string]any{"default": issuerID})
	if err != nil {
		return fail(step, fmt.Errorf("make issuer %s the default: %w", issuerID, err), "")
	}
	rec.recordWrite(step, object, existed, true)
	return nil
}

// importedIssuerWithKey returns the issuer that set-signed imported together
// with its key: the intermediate, not the root that came along in the chain.
func importedIssuerWithKey(secret *vault.Secret) (string, error) {
	if secret == nil {
		return "", errors.New("set-signed returned no data")
	}
	mapping, _ := secret.Data["mapping"].(map[string]any)
	for issuer, key := range mapping {
		if keyID, _ := key.(string); keyID != "" {
			return issuer, nil
		}
	}
	return "", errors.New("set-signed imported no issuer with a key; the signed certificate does not match the CSR")
}

// pkiRole returns the PKI role of one service. It can issue only the
// service's DNS SAN and URI SAN, as ECDSA P-256 leaves for server and client
// use, with no IP SANs, no wildcards, no localhost and no stored copy.
func pkiRole(name string, ttl time.Duration) map[string]any {
	return map[string]any{
		"issuer_ref":                  "default",
		"allowed_domains":             []string{identity.DNSName(name)},
		"allow_bare_domains":          true,
		"allow_subdomains":            false,
		"allow_glob_domains":          false,
		"allow_wildcard_certificates": false,
		"allow_any_name":              false,
		"allow_localhost":             false,
		"allow_ip_sans":               false,
		"allowed_uri_sans":            []string{identity.URI(name)},
		"allowed_uri_sans_template":   false,
		"allowed_other_sans":          []string{},
		"enforce_hostnames":           true,
		"server_flag":                 true,
		"client_flag":                 true,
		"code_signing_flag":           false,
		"email_protection_flag":       false,
		"key_type":                    "ec",
		"key_bits":                    256,
		"key_usage":                   []string{"DigitalSignature"},
		"ext_key_usage":               []string{},
		"require_cn":                  true,
		"no_store":                    true,
		"generate_lease":              false,
		"ttl":                         ttl,
		"max_ttl":                     ttl,
	}
}

// vaultPKIRoles writes one PKI role per service.
func vaultPKIRoles(ctx context.Context, client *vault.Client, cfg Config, rec *recorder) error {
	for _, service := range cfg.Services {
		path := PKIMount + "/roles/" + service.Name
		if err := syncVaultObject(ctx, client, "vault-pki-role", path, pkiRole(service.Name, cfg.CertTTL), cfg, rec); err != nil {
			return err
		}
	}
	return nil
}

// syncVaultObject writes want to path unless reading path returns every
// field of want with the same value.
func syncVaultObject(ctx context.Context, client *vault.Client, step, path string, want map[string]any, cfg Config, rec *recorder) error {
	current, err := client.Logical().ReadWithContext(ctx, path)
	if err != nil && !isNotFound(err) {
		return fail(step, fmt.Errorf("read %s: %w", path, err), "")
	}
	existed := err == nil && current != nil
	if existed {
		if ok, field := fieldsMatch(want, current.Data); ok {
			rec.record(step, path, Unchanged)
			return nil
		} else {
			cfg.Log.Info("bootstrap object differs", "step", step, "object", path, "field", field)
		}
	}
	if _, err := client.Logical().WriteWithContext(ctx, path, requestData(want)); err != nil {
		return fail(step, fmt.Errorf("write %s: %w", path, err), "check Vault's log")
	}
	rec.recordWrite(step, path, existed, true)
	return nil
}

// isNotFound reports whether err is a Vault 404.
func isNotFound(err error) bool {
	var response *vault.ResponseError
	return errors.As(err, &response) && response.StatusCode == 404
}
