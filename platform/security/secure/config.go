package secure

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go-micro.dev/v4/registry"
	"go-micro.dev/v4/server"
	"google.golang.org/grpc"

	"github.com/bulwark-go/bulwark/platform/security/identity"
	"github.com/bulwark-go/bulwark/platform/security/mtls"
	"github.com/bulwark-go/bulwark/platform/security/vaultclient"
)

// Defaults of Config fields left zero.
const (
	DefaultPoolTTL               = time.Minute
	DefaultMaxConnectionAge      = 5 * time.Minute
	DefaultMaxConnectionAgeGrace = 30 * time.Second
	DefaultRegisterTTL           = 30 * time.Second
	DefaultRegisterInterval      = 10 * time.Second
)

// Config describes a secured service.
type Config struct {
	// Name is the service's name and identity. Required.
	Name string
	// Version is the go-micro service version. Optional; default "latest".
	Version string
	// Address is the listen address of the gRPC server. Optional; default
	// ":0", a free port on every interface.
	Address string
	// BrokerAddress is the listen address of the broker's subscriber
	// endpoint, opened only when the service subscribes. Optional; default
	// ":0".
	BrokerAddress string

	// Vault is the AppRole login of the service. Required unless
	// Certificates is set.
	Vault vaultclient.Config
	// CAFile is the PEM file of the root CA that all certificates chain
	// to. Optional; default Vault.CAFile.
	CAFile string
	// PKIMount is the mount of Vault's intermediate PKI engine. Optional;
	// default pki.DefaultMount.
	PKIMount string
	// Certificates replaces the Vault login and certificate source, for
	// tests with an in-memory CA. Optional.
	Certificates CertificateSource

	// PolicyFile is the authorization policy, for example
	// infra/authz.yaml. Required.
	PolicyFile string
	// Registry is the service registry, for example the Consul registry of
	// platform/security/registry. Required: go-micro's default (mDNS) has
	// no authentication.
	Registry registry.Registry

	// HandlerWrappers run after authorization, in order. Optional.
	HandlerWrappers []server.HandlerWrapper
	// SubscriberWrappers run after the publisher identity is in the
	// context, in order. Optional.
	SubscriberWrappers []server.SubscriberWrapper
	// GRPCServerOptions are added to the gRPC server. Optional.
	GRPCServerOptions []grpc.ServerOption

	// PoolTTL bounds how long the client reuses a connection, and so how
	// long a rotated client certificate stays in use. Optional; default
	// DefaultPoolTTL. go-micro counts it in whole seconds.
	PoolTTL time.Duration
	// MaxConnectionAge bounds how long the server keeps a connection
	// before asking the client to reconnect. Optional; default
	// DefaultMaxConnectionAge.
	MaxConnectionAge time.Duration
	// RegisterTTL and RegisterInterval are passed to the go-micro server.
	// Optional; defaults DefaultRegisterTTL and DefaultRegisterInterval.
	RegisterTTL, RegisterInterval time.Duration

	// Logger receives the logs of every component. Optional; default
	// slog.Default().
	Logger *slog.Logger
}

// CertificateSource is the part of a *pki.Source that the service needs.
type CertificateSource interface {
	mtls.Source
	Service() string
	Close()
}

func (c *Config) setDefaults() {
	if c.Version == "" {
		c.Version = "latest"
	}
	if c.Address == "" {
		c.Address = ":0"
	}
	if c.BrokerAddress == "" {
		c.BrokerAddress = ":0"
	}
	if c.CAFile == "" {
		c.CAFile = c.Vault.CAFile
	}
	if c.PoolTTL == 0 {
		c.PoolTTL = DefaultPoolTTL
	}
	if c.MaxConnectionAge == 0 {
		c.MaxConnectionAge = DefaultMaxConnectionAge
	}
	if c.RegisterTTL == 0 {
		c.RegisterTTL = DefaultRegisterTTL
	}
	if c.RegisterInterval == 0 {
		c.RegisterInterval = DefaultRegisterInterval
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Vault.Logger == nil {
		c.Vault.Logger = c.Logger
	}
}

func (c *Config) validate() error {
	var errs []error
	if err := identity.ValidateName(c.Name); err != nil {
		errs = append(errs, fmt.Errorf("secure: %w", err))
	}
	if c.PolicyFile == "" {
		errs = append(errs, errors.New("secure: policy file is not set; set PolicyFile to infra/authz.yaml"))
	}
	if c.Registry == nil {
		errs = append(errs, errors.New("secure: registry is nil; pass the Consul registry, because "+
			"go-micro's default registry has no authentication"))
	}
	if c.Certificates == nil && c.CAFile == "" {
		errs = append(errs, errors.New("secure: CA file is not set; set Vault.CAFile or CAFile"))
	}
	if c.Certificates != nil && c.Certificates.Service() != c.Name {
		errs = append(errs, fmt.Errorf("secure: certificate source is for %q, not %q",
			c.Certificates.Service(), c.Name))
	}
	if c.PoolTTL < time.Second {
		errs = append(errs, fmt.Errorf("secure: PoolTTL %v is below one second, which go-micro rounds to "+
			"zero; use at least 1s", c.PoolTTL))
	}
	if c.MaxConnectionAge < time.Second {
		errs = append(errs, fmt.Errorf("secure: MaxConnectionAge %v is below one second", c.MaxConnectionAge))
	}
	return errors.Join(errs...)
}
