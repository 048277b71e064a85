package registry

import (
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// redacted replaces a secret wherever one would be printed.
const redacted = "[redacted]"

// secretID holds a token's secret. Token keeps it behind a pointer so that fmt
// prints an address, not the value, even when a Token is a field of another
// struct that fmt prints field by field.
type secretID struct {
	value string
}

// Token is a Consul ACL token issued by Vault's Consul secrets engine, with
// the Vault lease that bounds its life. Printing a Token with fmt, log/slog or
// encoding/json shows the accessor ID and lease ID, never the secret ID.
type Token struct {
	secret *secretID

	// AccessorID is the token's public identifier in Consul. It is safe to log.
	AccessorID string

	// LeaseID is the Vault lease of the token, for example
	// consul/creds/orders/AbC123. It is safe to log.
	LeaseID string

	// LeaseDuration is the lease's time to live when Vault issued the token.
	LeaseDuration time.Duration

	// Renewable reports whether Vault allows renewing the lease.
	Renewable bool

	// IssuedAt is when Vault returned the token, by the local clock.
	IssuedAt time.Time
}

// newToken returns a Token holding the secret ID.
func newToken(secret, accessor, leaseID string, ttl time.Duration, renewable bool, issuedAt time.Time) Token {
	return Token{
		secret:        &secretID{value: secret},
		AccessorID:    accessor,
		LeaseID:       leaseID,
		LeaseDuration: ttl,
		Renewable:     renewable,
		IssuedAt:      issuedAt,
	}
}

// SecretID returns the token's secret, the value that Consul accepts in the
// X-Consul-Token header. Keep it out of logs, errors and command lines.
func (t Token) SecretID() string {
	if t.secret == nil {
		return ""
	}
	return t.secret.value
}

// IsZero reports whether t holds no secret.
func (t Token) IsZero() bool {
	return t.SecretID() == ""
}

// String describes the token by its accessor ID and lease ID.
func (t Token) String() string {
	return fmt.Sprintf("Consul token (accessor %s, lease %s, secret %s)", t.AccessorID, t.LeaseID, redacted)
}

// GoString describes the token for the %#v verb without its secret.
func (t Token) GoString() string {
	return fmt.Sprintf("registry.Token{AccessorID:%q, LeaseID:%q, LeaseDuration:%v, Renewable:%v, SecretID:%q}",
		t.AccessorID, t.LeaseID, t.LeaseDuration, t.Renewable, redacted)
}

// LogValue describes the token to log/slog by its accessor ID and lease ID.
func (t Token) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("accessor_id", t.AccessorID),
		slog.String("lease_id", t.LeaseID),
		slog.Duration("lease_duration", t.LeaseDuration),
	)
}

// redactSecret returns err with every occurrence of the token's secret ID
// replaced. Errors from Consul and Vault are not expected to contain the
// secret, so this is a second line of defence for messages that echo a
// request.
func redactSecret(err error, t Token) error {
	if err == nil {
		return nil
	}
	secret := t.SecretID()
	if secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	return &redactedError{text: strings.ReplaceAll(err.Error(), secret, redacted)}
}

// redactedError is an error whose text had a secret removed. It wraps nothing,
// because the original error still contains the secret.
type redactedError struct {
	text string
}

func (e *redactedError) Error() string { return e.text }
