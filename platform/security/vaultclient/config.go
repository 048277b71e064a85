package vaultclient

import (
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/bulwark-go/bulwark/platform/security/internal/clock"
)

// Defaults of Config fields left zero.
const (
	DefaultAuthMount      = "approle"
	DefaultRequestTimeout = 10 * time.Second
	DefaultMaxRetryDelay  = 30 * time.Second
)

// Config is the Vault address and the paths of the service's AppRole credentials.
type Config struct {
	// Address is Vault's URL, for example https://127.0.0.1:8200. Required,
	// and it must use https.
	Address string
	// CAFile is a PEM file of the CA certificates that Vault's certificate
	// must chain to. Required: the system roots are never used.
	CAFile string
	// RoleIDFile and SecretIDFile are files containing the AppRole role_id and
	// secret_id. Both are required and read again at every login, so that
	// an operator can replace a secret_id without a restart. They should
	// have mode 0600. A group- or world-readable secret_id file is logged
	// as a warning.
	RoleIDFile   string
	SecretIDFile string
	// AuthMount is the mount path of the AppRole auth method. Optional,
	// default DefaultAuthMount.
	AuthMount string
	// RequestTimeout bounds each request to Vault. Optional, default
	// DefaultRequestTimeout.
	RequestTimeout time.Duration
	// MaxRetryDelay caps the backoff between failed logins or renewals.
	// Optional, default DefaultMaxRetryDelay.
	MaxRetryDelay time.Duration
	// Logger receives the client's logs. Optional, default slog.Default().
	Logger *slog.Logger

	// clock is replaced by tests.
	clock clock.Clock
}

func (c *Config) setDefaults() {
	if c.AuthMount == "" {
		c.AuthMount = DefaultAuthMount
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.MaxRetryDelay == 0 {
		c.MaxRetryDelay = DefaultMaxRetryDelay
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.clock == nil {
		c.clock = clock.Real{}
	}
}

// validate checks every field and returns all problems at once.
func (c *Config) validate() error {
	var errs []error
	if err := ValidateAddress(c.Address); err != nil {
		errs = append(errs, err)
	}
	if c.CAFile == "" {
		errs = append(errs, errors.New("vaultclient: CA file is not set; set it to the PEM file of the CA that "+
			"signed Vault's certificate"))
	}
	if c.RoleIDFile == "" {
		errs = append(errs, errors.New("vaultclient: role_id file is not set; set it to the file containing the "+
			"service's AppRole role_id"))
	}
	if c.SecretIDFile == "" {
		errs = append(errs, errors.New("vaultclient: secret_id file is not set; set it to the file containing the "+
			"service's AppRole secret_id"))
	}
	if strings.Trim(c.AuthMount, "/") == "" || strings.ContainsAny(c.AuthMount, " ?#") {
		errs = append(errs, fmt.Errorf("vaultclient: AppRole mount %q is invalid; use a path such as %q",
			c.AuthMount, DefaultAuthMount))
	}
	if c.RequestTimeout < 0 {
		errs = append(errs, fmt.Errorf("vaultclient: request timeout %v is negative", c.RequestTimeout))
	}
	if c.MaxRetryDelay < time.Second {
		errs = append(errs, fmt.Errorf("vaultclient: max retry delay %v is below one second; use a longer "+
			"delay so that a Vault outage is not flooded with logins", c.MaxRetryDelay))
	}
	return errors.Join(errs...)
}

// ValidateAddress checks that address is an https:// URL with a host and
// nothing after the port, because a plaintext Vault link would carry the
// secret_id and every secret in clear.
func ValidateAddress(address string) error {
	if address == "" {
		return errors.New("vaultclient: Vault address is not set; set it to an https:// URL such as " +
			"https://vault.example:8200")
	}
	u, err := url.Parse(address)
	if err != nil {
		return fmt.Errorf("vaultclient: Vault address %q is not a URL: %w", address, err)
	}
	if u.Scheme != "https" {
		return fmt.Errorf("vaultclient: Vault address %q is not https://; Vault must be reached over "+
			"verified TLS, so use https://%s", address, hostOf(u, address))
	}
	if u.Host == "" {
		return fmt.Errorf("vaultclient: Vault address %q has no host", address)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/") {
		return fmt.Errorf("vaultclient: Vault address %q has a path, query or user information; use only "+
			"https://host:port", address)
	}
	return nil
}

func hostOf(u *url.URL, raw string) string {
	if u.Host != "" {
		return u.Host
	}
	return strings.TrimPrefix(strings.TrimPrefix(raw, "http://"), "//")
}

// LoadCAFile reads a PEM file of CA certificates into a pool. It fails when
// the file contains no certificate, so that a wrong path never yields an empty
// pool.
func LoadCAFile(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("vaultclient: read CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("vaultclient: CA file %s contains no PEM certificate", path)
	}
	return pool, nil
}

// readSecretFile returns the trimmed content of a credential file. Errors
// name the file and what it should contain, never its content.
func readSecretFile(path, what string, log *slog.Logger) (string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("vaultclient: %s file: %w", what, err)
	}
	if !info.Mode().IsRegular() {
		return "", fmt.Errorf("vaultclient: %s file %s is not a regular file", what, path)
	}
	if info.Mode().Perm()&0o077 != 0 {
		log.Warn("credential file is readable by other users; run chmod 600 on it",
			"file", path, "content", what, "mode", info.Mode().Perm().String())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("vaultclient: read %s file: %w", what, err)
	}
	value := strings.TrimSpace(string(data))
	if value == "" {
		return "", fmt.Errorf("vaultclient: %s file %s is empty", what, path)
	}
	if strings.ContainsAny(value, " \t\r\n") {
		return "", fmt.Errorf("vaultclient: %s file %s contains more than one word; it must contain only the %s",
			what, path, what)
	}
	return value, nil
}
