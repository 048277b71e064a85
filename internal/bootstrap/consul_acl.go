package bootstrap

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	consul "github.com/hashicorp/consul/api"
)

// Names of the Consul ACL policies that are not a service's own.
const (
	ConsulAgentPolicy  = "bulwark-agent"
	ConsulEnginePolicy = "vault-secrets-engine"
)

// Descriptions by which the bootstrap finds the tokens it created earlier.
const (
	agentTokenDescription  = "bulwark: agent token of node "
	engineTokenDescription = "bulwark: Vault Consul secrets engine"
)

// ConsulPolicyName returns the name of the Consul ACL policy of a service.
func ConsulPolicyName(service string) string {
	return "service-" + service
}

// aclReadyTimeout bounds how long the bootstrap waits for a freshly started
// Consul to elect a leader and accept ACL requests.
const aclReadyTimeout = 30 * time.Second

// consulACLBootstrap bootstraps Consul's ACL system and saves the management
// token, or checks the saved one on later runs. The token is generated here
// and written to its file before Consul sees it, so a crash cannot leave
// Consul bootstrapped with a token that no file holds.
func consulACLBootstrap(ctx context.Context, cfg Config, l Layout, rec *recorder) (string, error) {
	const step = "consul-acl-bootstrap"
	token, err := readSecretFile(l.ConsulManagementToken)
	switch {
	case err == nil:
		client, err := newConsulClient(cfg, l, token)
		if err != nil {
			return "", fail(step, err, "run `bulwark bootstrap certs` first")
		}
		_, _, err = client.ACL().TokenReadSelf(nil)
		if err == nil {
			rec.record(step, cfg.Consul.Address, Unchanged)
			return token, nil
		}
		if !strings.Contains(err.Error(), "ACL not found") {
			return "", fail(step, fmt.Errorf("check saved management token: %w", err),
				"check that Consul is running and reachable")
		}
		// The token was saved but the bootstrap request never reached
		// Consul: use it now.
	case errors.Is(err, os.ErrNotExist):
		token, err = newUUID()
		if err != nil {
			return "", fail(step, err, "")
		}
		if err := writeFile(l.ConsulManagementToken, []byte(token+"\n"), modeSecretFile); err != nil {
			return "", fail(step, err, "check that the state directory is writable")
		}
	default:
		return "", fail(step, err, "")
	}

	client, err := newConsulClient(cfg, l, "")
	if err != nil {
		return "", fail(step, err, "run `bulwark bootstrap certs` first")
	}
	deadline := time.Now().Add(aclReadyTimeout)
	for {
		_, _, err = client.ACL().BootstrapWithToken(token)
		if err == nil || !retryableACLError(err) || time.Now().After(deadline) {
			break
		}
		cfg.Log.Info("Consul ACL system not ready; retrying", "error", err)
		select {
		case <-ctx.Done():
			return "", fail(step, ctx.Err(), "")
		case <-time.After(500 * time.Millisecond):
		}
	}
	if err != nil {
		fix := "check that Consul runs with infra/consul/server.hcl and is reachable"
		if strings.Contains(err.Error(), "no longer allowed") {
			fix = "Consul's ACLs were bootstrapped with another token: put that token in " +
				l.ConsulManagementToken + ", or reset the ACL bootstrap as Consul's documentation describes"
		}
		return "", fail(step, fmt.Errorf("bootstrap Consul ACLs at %s: %w", cfg.Consul.Address, err), fix)
	}
	rec.record(step, cfg.Consul.Address, Created)
	return token, nil
}

// newUUID returns a random (version 4) UUID, the format Consul requires for
// token secrets.
func newUUID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate token: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}

// retryableACLError reports whether Consul refused an ACL request only
// because it has no leader yet.
func retryableACLError(err error) bool {
	message := err.Error()
	return strings.Contains(message, "No cluster leader") ||
		strings.Contains(message, "ACL system is currently in legacy mode") ||
		strings.Contains(message, "ACL support disabled")
}

// consulPolicies creates or updates every Consul ACL policy: one per
// service from its file, one for the agent, and one for Vault's Consul
// secrets engine.
func consulPolicies(client *consul.Client, cfg Config, rec *recorder) error {
	const step = "consul-policy"
	type policy struct{ name, description, rules string }
	policies := []policy{
		{ConsulAgentPolicy, "Consul agent: registers its own node",
			fmt.Sprintf("node %q {\n  policy = \"write\"\n}\n\nservice_prefix \"\" {\n  policy = \"read\"\n}\n", cfg.Consul.NodeName)},
		// NOTE: acl = "write" lets the secrets engine create tokens with any
		// policy, including global-management. Consul v1.16 has no narrower
		// permission for minting tokens, so this token is as sensitive as
		// the management token and lives only inside Vault.
		{ConsulEnginePolicy, "Vault's Consul secrets engine: creates and deletes service tokens",
			"acl = \"write\"\n"},
	}
	for _, service := range cfg.Services {
		rules, err := service.consulPolicyText(cfg.InfraDir)
		if err != nil {
			return fail(step, err, "add the policy file, or fix consul_policy in services.yaml")
		}
		description := "Bulwark service " + service.Name
		if service.Description != "" {
			description += ": " + service.Description
		}
		policies = append(policies, policy{ConsulPolicyName(service.Name), description, rules})
	}
	for _, p := range policies {
		current, _, err := client.ACL().PolicyReadByName(p.name, nil)
		if err != nil {
			return fail(step, fmt.Errorf("read policy %s: %w", p.name, err), "")
		}
		if current != nil && current.Rules == p.rules && current.Description == p.description {
			rec.record(step, p.name, Unchanged)
			continue
		}
		if current == nil {
			_, _, err = client.ACL().PolicyCreate(&consul.ACLPolicy{Name: p.name, Description: p.description, Rules: p.rules}, nil)
		} else {
			current.Rules, current.Description = p.rules, p.description
			_, _, err = client.ACL().PolicyUpdate(current, nil)
		}
		if err != nil {
			return fail(step, fmt.Errorf("write policy %s: %w", p.name, err), "check the policy's HCL syntax")
		}
		rec.recordWrite(step, p.name, current != nil, true)
	}
	return nil
}

// ensureToken returns the secret of the token with the given description
// and policy, creating the token when none exists.
func ensureToken(client *consul.Client, description, policy string) (secretID string, created bool, err error) {
	entries, _, err := client.ACL().TokenList(nil)
	if err != nil {
		return "", false, fmt.Errorf("list tokens: %w", err)
	}
	for _, entry := range entries {
		if entry.Description != description {
			continue
		}
		token, _, err := client.ACL().TokenRead(entry.AccessorID, nil)
		if err != nil {
			return "", false, fmt.Errorf("read token %s: %w", entry.AccessorID, err)
		}
		if len(token.Policies) == 1 && token.Policies[0].Name == policy {
			return token.SecretID, false, nil
		}
		// A token with the right description but other policies was
		// changed by hand: delete it rather than trust it.
		if _, err := client.ACL().TokenDelete(entry.AccessorID, nil); err != nil {
			return "", false, fmt.Errorf("delete token %s with unexpected policies: %w", entry.AccessorID, err)
		}
	}
	token, _, err := client.ACL().TokenCreate(&consul.ACLToken{
		Description: description,
		Policies:    []*consul.ACLTokenPolicyLink{{Name: policy}},
	}, nil)
	if err != nil {
		return "", false, fmt.Errorf("create token %q: %w", description, err)
	}
	if token.SecretID == "" {
		return "", false, errors.New("Consul returned a token without a secret")
	}
	return token.SecretID, true, nil
}

// consulAgentToken gives the Consul agent its own token, so that it can
// register its node under default deny. enable_token_persistence keeps it
// across restarts.
func consulAgentToken(client *consul.Client, cfg Config, l Layout, rec *recorder) error {
	const step = "consul-agent-token"
	secretID, created, err := ensureToken(client, agentTokenDescription+cfg.Consul.NodeName, ConsulAgentPolicy)
	if err != nil {
		return fail(step, err, "")
	}
	_, statErr := os.Stat(l.ConsulAgentToken)
	wrote, err := syncFile(l.ConsulAgentToken, []byte(secretID+"\n"), modeSecretFile)
	if err != nil {
		return fail(step, err, "")
	}
	if !created && !wrote {
		rec.record(step, cfg.Consul.NodeName, Unchanged)
		return nil
	}
	if _, err := client.Agent().UpdateAgentACLToken(secretID, nil); err != nil {
		return fail(step, fmt.Errorf("set agent token: %w", err), "check that the management token is valid")
	}
	rec.recordWrite(step, cfg.Consul.NodeName, statErr == nil, true)
	return nil
}
