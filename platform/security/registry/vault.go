package registry

import (
	"context"
	"fmt"
	"strings"
	"time"

	vault "github.com/hashicorp/vault/api"
)

// tokenIssuer obtains and renews Consul tokens. The Vault implementation is
// vaultIssuer; tests use an in-memory fake.
type tokenIssuer interface {
	// issue reads a new token from the service's own role.
	issue(ctx context.Context) (Token, error)
	// renew extends the token's lease by increment and returns the duration
	// that Vault granted, which is shorter when the lease nears its max_ttl.
	renew(ctx context.Context, t Token, increment time.Duration) (time.Duration, error)
}

// vaultIssuer reads tokens from Vault's Consul secrets engine.
type vaultIssuer struct {
	client  *vault.Client
	path    string // <mount>/creds/<service>
	nowFunc func() time.Time
}

func newVaultIssuer(client *vault.Client, mount, service string, now func() time.Time) *vaultIssuer {
	return &vaultIssuer{client: client, path: mount + "/creds/" + service, nowFunc: now}
}

func (v *vaultIssuer) issue(ctx context.Context) (Token, error) {
	s, err := v.client.Logical().ReadWithContext(ctx, v.path)
	if err != nil {
		return Token{}, fmt.Errorf("registry: read Consul token from Vault path %s: %w", v.path, err)
	}
	return parseCredentials(v.path, s, v.nowFunc())
}

// parseCredentials turns the response of <mount>/creds/<role> into a Token.
// Error messages name the missing field, never the secret's value.
func parseCredentials(path string, s *vault.Secret, now time.Time) (Token, error) {
	if s == nil {
		return Token{}, fmt.Errorf("registry: Vault path %s returned no secret; check that the Consul "+
			"secrets engine has a role of that name", path)
	}
	secret, _ := s.Data["token"].(string)
	if secret == "" {
		return Token{}, fmt.Errorf("registry: Vault path %s returned no token field; check that the path is a "+
			"Consul secrets engine role", path)
	}
	accessor, _ := s.Data["accessor"].(string)
	if accessor == "" {
		return Token{}, fmt.Errorf("registry: Vault path %s returned a token without an accessor", path)
	}
	if s.LeaseID == "" || s.LeaseDuration <= 0 {
		return Token{}, fmt.Errorf("registry: Vault path %s returned token %s without a lease (lease id %q, "+
			"duration %ds); set a ttl on the Consul role", path, accessor, s.LeaseID, s.LeaseDuration)
	}
	ttl := time.Duration(s.LeaseDuration) * time.Second
	return newToken(secret, accessor, s.LeaseID, ttl, s.Renewable, now), nil
}

// renew extends the lease through sys/leases/renew/<lease id>. The lease ID in
// the path lets a Vault policy allow renewing only the service's own leases,
// for example path "sys/leases/renew/consul/creds/orders/*".
func (v *vaultIssuer) renew(ctx context.Context, t Token, increment time.Duration) (time.Duration, error) {
	if !t.Renewable {
		return 0, fmt.Errorf("registry: lease %s is not renewable", t.LeaseID)
	}
	path := "sys/leases/renew/" + t.LeaseID
	s, err := v.client.Logical().WriteWithContext(ctx, path, map[string]any{
		"increment": int(increment / time.Second),
	})
	if err != nil {
		return 0, fmt.Errorf("registry: renew lease %s: %w", t.LeaseID, err)
	}
	return parseRenewal(t.LeaseID, s)
}

// parseRenewal returns the lease duration that a renewal response granted.
func parseRenewal(leaseID string, s *vault.Secret) (time.Duration, error) {
	if s == nil {
		return 0, fmt.Errorf("registry: renew lease %s: Vault returned no lease", leaseID)
	}
	if s.LeaseID != "" && s.LeaseID != leaseID {
		return 0, fmt.Errorf("registry: renew lease %s: Vault returned lease %s", leaseID, s.LeaseID)
	}
	if s.LeaseDuration <= 0 {
		return 0, fmt.Errorf("registry: renew lease %s: Vault granted no time, so the lease is at its max_ttl",
			leaseID)
	}
	return time.Duration(s.LeaseDuration) * time.Second, nil
}

// Consul (v1.16) rejects a token that it does not know with "403 (ACL not
// found)", which happens when Vault revoked the lease early. While a restarted
// Consul has not elected a leader, the message reads "ACL system must be
// bootstrapped before making any requests that require authorization: ACL not
// found" for every token, and a new token would not help.
const (
	aclNotFound     = "ACL not found"
	aclBootstrapped = "must be bootstrapped"
)

// isACLNotFound reports whether err is Consul rejecting an unknown token.
func isACLNotFound(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, aclNotFound) && !strings.Contains(msg, aclBootstrapped)
}
