package stack

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	consul "github.com/hashicorp/consul/api"
	vault "github.com/hashicorp/vault/api"
)

// Names of the operator policies and the description of the Consul token.
const (
	ConsulOperatorPolicy     = "bulwark-operator-read"
	VaultOperatorPolicy      = "operator-read"
	consulOperatorTokenLabel = "bulwark: read-only operator token of the local stack"
)

// consulOperatorRules lets the token read the catalog, the agents and
// Consul's operator endpoints, and write nothing. It has no ACL rights, so
// it cannot read other tokens.
const consulOperatorRules = `service_prefix "" {
  policy = "read"
}

node_prefix "" {
  policy = "read"
}

agent_prefix "" {
  policy = "read"
}

operator = "read"
`

// Lifetime of the Vault operator token. A token with less than
// vaultOperatorMinTTL left is replaced on the next up. Vault's max_lease_ttl
// (infra/vault/server.hcl) caps the TTL at 24h.
const (
	vaultOperatorTTL    = "24h"
	vaultOperatorMinTTL = time.Hour
)

// ensureOperatorTokens writes the read-only Consul and Vault tokens of the
// env file, reusing valid tokens from earlier runs.
func (s *stack) ensureOperatorTokens(ctx context.Context) error {
	if err := os.MkdirAll(s.paths.Operator, 0o700); err != nil {
		return fmt.Errorf("stack: %w", err)
	}
	if err := s.ensureConsulOperatorToken(); err != nil {
		return err
	}
	return s.ensureVaultOperatorToken(ctx)
}

// consulClient returns a Consul client that verifies Consul against the
// root CA and presents the operator certificate.
func (s *stack) consulClient(token string) (*consul.Client, error) {
	client, err := s.httpsClient(true)
	if err != nil {
		return nil, err
	}
	return consul.NewClient(&consul.Config{Address: s.consulAddr(), Scheme: "https", Token: token, HttpClient: client})
}

// vaultClient returns a Vault client that verifies Vault against the root
// CA and ignores VAULT_* variables of the caller's environment.
func (s *stack) vaultClient(token string) (*vault.Client, error) {
	httpClient, err := s.httpsClient(false)
	if err != nil {
		return nil, err
	}
	client, err := vault.NewClient(&vault.Config{Address: s.vaultAddr(), HttpClient: httpClient, Timeout: 10 * time.Second})
	if err != nil {
		return nil, err
	}
	client.ClearNamespace()
	client.SetToken(token)
	return client, nil
}

func (s *stack) ensureConsulOperatorToken() error {
	management, err := readSecret(s.layout.ConsulManagementToken)
	if err != nil {
		return err
	}
	client, err := s.consulClient(management)
	if err != nil {
		return err
	}
	acl := client.ACL()

	policy, _, err := acl.PolicyReadByName(ConsulOperatorPolicy, nil)
	if err != nil {
		return fmt.Errorf("stack: read Consul policy %s: %w", ConsulOperatorPolicy, err)
	}
	switch {
	case policy == nil:
		_, _, err = acl.PolicyCreate(&consul.ACLPolicy{Name: ConsulOperatorPolicy, Description: "read-only operator of the local stack", Rules: consulOperatorRules}, nil)
	case policy.Rules != consulOperatorRules:
		policy.Rules = consulOperatorRules
		_, _, err = acl.PolicyUpdate(policy, nil)
	}
	if err != nil {
		return fmt.Errorf("stack: write Consul policy %s: %w", ConsulOperatorPolicy, err)
	}

	entries, _, err := acl.TokenList(nil)
	if err != nil {
		return fmt.Errorf("stack: list Consul tokens: %w", err)
	}
	secret := ""
	for _, entry := range entries {
		if entry.Description != consulOperatorTokenLabel {
			continue
		}
		onlyOperator := len(entry.Policies) == 1 && entry.Policies[0].Name == ConsulOperatorPolicy
		if secret == "" && onlyOperator {
			token, _, err := acl.TokenRead(entry.AccessorID, nil)
			if err != nil {
				return fmt.Errorf("stack: read Consul token %s: %w", entry.AccessorID, err)
			}
			secret = token.SecretID
			continue
		}
		// A duplicate, or a token whose policies were changed by hand.
		if _, err := acl.TokenDelete(entry.AccessorID, nil); err != nil {
			return fmt.Errorf("stack: delete Consul token %s: %w", entry.AccessorID, err)
		}
	}
	if secret == "" {
		token, _, err := acl.TokenCreate(&consul.ACLToken{
			Description: consulOperatorTokenLabel,
			Policies:    []*consul.ACLTokenPolicyLink{{Name: ConsulOperatorPolicy}},
		}, nil)
		if err != nil {
			return fmt.Errorf("stack: create Consul operator token: %w", err)
		}
		secret = token.SecretID
	}
	return writeSecret(s.paths.ConsulOperatorToken(), secret)
}

func (s *stack) ensureVaultOperatorToken(ctx context.Context) error {
	root, err := readSecret(s.layout.VaultRootToken)
	if err != nil {
		return err
	}
	client, err := s.vaultClient(root)
	if err != nil {
		return err
	}
	policyFile := filepath.Join(s.cfg.RepoRoot, "infra", "vault", "policies", VaultOperatorPolicy+".hcl")
	rules, err := os.ReadFile(policyFile)
	if err != nil {
		return fmt.Errorf("stack: read Vault policy: %w", err)
	}
	current, err := client.Sys().GetPolicyWithContext(ctx, VaultOperatorPolicy)
	if err != nil {
		return fmt.Errorf("stack: read Vault policy %s: %w", VaultOperatorPolicy, err)
	}
	if current != string(rules) {
		if err := client.Sys().PutPolicyWithContext(ctx, VaultOperatorPolicy, string(rules)); err != nil {
			return fmt.Errorf("stack: write Vault policy %s from %s: %w", VaultOperatorPolicy, policyFile, err)
		}
	}

	path := s.paths.VaultOperatorToken()
	if existing, err := readSecret(path); err == nil {
		keep, err := s.keepVaultToken(ctx, existing)
		if err != nil {
			return err
		}
		if keep {
			return nil
		}
	}
	renewable := true
	secret, err := client.Auth().Token().CreateOrphanWithContext(ctx, &vault.TokenCreateRequest{
		Policies:        []string{VaultOperatorPolicy},
		NoDefaultPolicy: true,
		TTL:             vaultOperatorTTL,
		DisplayName:     "bulwark-operator-read",
		Renewable:       &renewable,
	})
	if err != nil {
		return fmt.Errorf("stack: create Vault operator token: %w", err)
	}
	if secret == nil || secret.Auth == nil || secret.Auth.ClientToken == "" {
		return errors.New("stack: Vault returned no operator token")
	}
	return writeSecret(path, secret.Auth.ClientToken)
}

// keepVaultToken reports whether token is a live operator token with at
// least vaultOperatorMinTTL left. A live token that fails the check is
// revoked.
func (s *stack) keepVaultToken(ctx context.Context, token string) (bool, error) {
	client, err := s.vaultClient(token)
	if err != nil {
		return false, err
	}
	secret, err := client.Auth().Token().LookupSelfWithContext(ctx)
	if err != nil {
		var response *vault.ResponseError
		if errors.As(err, &response) && response.StatusCode == 403 {
			return false, nil // expired or revoked
		}
		return false, fmt.Errorf("stack: look up the Vault operator token: %w", err)
	}
	policies, _ := secret.TokenPolicies()
	ttl, _ := secret.TokenTTL()
	if slices.Equal(policies, []string{VaultOperatorPolicy}) && ttl >= vaultOperatorMinTTL {
		return true, nil
	}
	_ = client.Auth().Token().RevokeSelfWithContext(ctx, "")
	return false, nil
}

// readSecret returns the trimmed contents of a 0600 secret file.
func readSecret(path string) (string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("stack: %w; run bulwark up again to recreate it", err)
	}
	if info.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("stack: secret file %s has mode %o; run chmod 600 %s", path, info.Mode().Perm(), path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("stack: %w", err)
	}
	value := strings.TrimSpace(string(data))
	if value == "" {
		return "", fmt.Errorf("stack: secret file %s is empty", path)
	}
	return value, nil
}

// writeSecret writes value to a 0600 file through a rename, so a reader
// never sees half a token.
func writeSecret(path, value string) error {
	tmp := path + ".tmp"
	// A leftover temporary file keeps its mode under os.WriteFile.
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("stack: %w", err)
	}
	if err := os.WriteFile(tmp, []byte(value+"\n"), 0o600); err != nil {
		return fmt.Errorf("stack: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("stack: %w", err)
	}
	return nil
}
