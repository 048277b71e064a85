package registry

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	vault "github.com/hashicorp/vault/api"

	"github.com/bulwark-go/bulwark/platform/security/identity"
)

// Defaults and limits of the registration timing.
const (
	// DefaultRegisterTTL is the TTL of the health check that Consul keeps for
	// each registered node. A node that misses its heartbeats for this long
	// turns critical and drops out of discovery.
	DefaultRegisterTTL = 30 * time.Second

	// DefaultRegisterInterval is how often the service sends a heartbeat and
	// registers again if Consul has lost the node.
	DefaultRegisterInterval = 10 * time.Second

	// MinRegisterTTL and MaxRegisterTTL bound RegisterTTL. A TTL above the
	// maximum keeps a dead node in discovery for too long.
	MinRegisterTTL = time.Second
	MaxRegisterTTL = 10 * time.Minute

	// DefaultConsulMount is the mount path of Vault's Consul secrets engine.
	DefaultConsulMount = "consul"
)

// Options configures a [Registry]. Service, Address, TLSConfig and Vault are
// required. The other fields are optional and take the documented default
// when left at their zero value.
type Options struct {
	// Service is the service's own name. It selects the Vault role
	// <ConsulMount>/creds/<Service>, whose token may register only this name.
	// Required.
	Service string

	// Address is the Consul agent's HTTPS address as host:port, for example
	// "127.0.0.1:8501". It has no scheme, because TLS is always on. Required.
	Address string

	// TLSConfig verifies Consul's certificate against the trust chain's CA
	// (RootCAs) and presents the service's client certificate, through
	// Certificates or GetClientCertificate. InsecureSkipVerify must be false.
	// The Registry keeps a clone, so later changes to the caller's value have
	// no effect. Required.
	TLSConfig *tls.Config

	// Vault is a logged-in Vault client whose token may read
	// <ConsulMount>/creds/<Service> and renew that lease. The caller keeps the
	// client's own token renewed. Required.
	Vault *vault.Client

	// ConsulMount is the mount path of Vault's Consul secrets engine.
	// Optional, default DefaultConsulMount.
	ConsulMount string

	// RegisterTTL is the TTL of each node's health check in Consul.
	// Optional, default DefaultRegisterTTL, between MinRegisterTTL and
	// MaxRegisterTTL.
	RegisterTTL time.Duration

	// RegisterInterval is the heartbeat period. It must be at most half of
	// RegisterTTL, so that one late heartbeat does not turn the node critical.
	// Optional, default DefaultRegisterInterval.
	RegisterInterval time.Duration

	// Logger receives the component's log records. Optional, default
	// slog.Default(). Records never contain the token's secret ID.
	Logger *slog.Logger
}

// withDefaults returns a copy of o with defaults applied.
func (o Options) withDefaults() Options {
	if o.ConsulMount == "" {
		o.ConsulMount = DefaultConsulMount
	}
	if o.RegisterTTL == 0 {
		o.RegisterTTL = DefaultRegisterTTL
	}
	if o.RegisterInterval == 0 {
		o.RegisterInterval = DefaultRegisterInterval
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// validate checks every field of o after defaults were applied.
func (o Options) validate() error {
	if err := identity.ValidateName(o.Service); err != nil {
		return fmt.Errorf("registry: Options.Service: %w", err)
	}
	if err := ValidateAddress(o.Address); err != nil {
		return err
	}
	if err := ValidateTLSConfig(o.TLSConfig); err != nil {
		return err
	}
	if o.Vault == nil {
		return errors.New("registry: Options.Vault is nil; pass a Vault client logged in with the service's AppRole")
	}
	if o.ConsulMount != strings.Trim(o.ConsulMount, "/") || strings.ContainsAny(o.ConsulMount, " \t\n") {
		return fmt.Errorf("registry: Options.ConsulMount %q is invalid; use the mount path without slashes at "+
			"either end, for example %q", o.ConsulMount, DefaultConsulMount)
	}
	return validateTiming(o.RegisterTTL, o.RegisterInterval)
}

// validateTiming checks the TTL and heartbeat interval of a registration.
func validateTiming(ttl, interval time.Duration) error {
	if ttl < MinRegisterTTL || ttl > MaxRegisterTTL {
		return fmt.Errorf("registry: RegisterTTL %v is out of range; use a value between %v and %v",
			ttl, MinRegisterTTL, MaxRegisterTTL)
	}
	if interval <= 0 {
		return fmt.Errorf("registry: RegisterInterval %v must be positive; use at most half of RegisterTTL (%v)",
			interval, ttl/2)
	}
	if interval > ttl/2 {
		return fmt.Errorf("registry: RegisterInterval %v is more than half of RegisterTTL %v, so one late "+
			"heartbeat would turn the node critical; use at most %v", interval, ttl, ttl/2)
	}
	return nil
}

// ValidateAddress checks that address is a Consul HTTPS address in the
// host:port form that the go-micro Consul plugin accepts. The plugin silently
// skips an address with a scheme such as "https://", so this function rejects
// it with the fix.
func ValidateAddress(address string) error {
	if address == "" {
		return errors.New("registry: Consul address is empty; use host:port of the agent's HTTPS listener, " +
			"for example 127.0.0.1:8501")
	}
	if scheme, rest, ok := strings.Cut(address, "://"); ok {
		return fmt.Errorf("registry: Consul address %q has the scheme %q; use %q, because the registry always "+
			"uses TLS", address, scheme, rest)
	}
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("registry: Consul address %q is not host:port (%v); use the agent's HTTPS listener, "+
			"for example 127.0.0.1:8501", address, err)
	}
	if host == "" {
		return fmt.Errorf("registry: Consul address %q has no host; use host:port, for example 127.0.0.1:8501",
			address)
	}
	if strings.ContainsAny(host, "/?#@ ") {
		return fmt.Errorf("registry: Consul address %q has an invalid host %q; use host:port with no path, "+
			"user or query", address, host)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("registry: Consul address %q has an invalid port %q; use a number from 1 to 65535",
			address, port)
	}
	return nil
}
