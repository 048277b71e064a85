package bootstrap

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"time"
)

// Defaults of Config. They describe the local stack: one Consul server and
// one Vault server on loopback.
const (
	DefaultDatacenter      = "dc1"
	DefaultDomain          = "consul"
	DefaultNodeName        = "bulwark-consul"
	DefaultBindAddr        = "127.0.0.1"
	DefaultConsulHTTPSPort = 8501
	DefaultConsulSerfPort  = 8301
	DefaultConsulRPCPort   = 8300
	DefaultVaultPort       = 8200
	DefaultVaultCluster    = 8201
	DefaultCertTTL         = time.Hour
	DefaultConsulTokenTTL  = time.Hour
	DefaultConsulTokenMax  = 24 * time.Hour
	DefaultAppRoleTokenTTL = time.Hour
	DefaultAppRoleMaxTTL   = 24 * time.Hour
	DefaultServerCertTTL   = 365 * 24 * time.Hour
	DefaultIntermediateTTL = 365 * 24 * time.Hour
	DefaultRootTTL         = 10 * 365 * 24 * time.Hour

	// MinCertTTL is the shortest PKI role max_ttl the bootstrap accepts.
	// Shorter leaves would need renewing faster than a Vault round trip
	// can be relied on.
	MinCertTTL = time.Minute
)

// ConsulSettings describes the Consul server: where the bootstrap reaches it
// and what goes into its generated configuration fragment.
type ConsulSettings struct {
	// Address is host:port of Consul's HTTPS API as the bootstrap reaches
	// it. Default: BindAddr and HTTPSPort.
	Address string

	// AddressForVault is host:port of Consul's HTTPS API as Vault's Consul
	// secrets engine reaches it. Default: Address. A compose stack sets it
	// to consul:8501.
	AddressForVault string

	// Datacenter and Domain name the server; its certificate carries
	// server.<Datacenter>.<Domain>, which verify_server_hostname requires.
	Datacenter, Domain string

	// NodeName is the Consul node name. The agent token may write only
	// this node.
	NodeName string

	// BindAddr is the address Consul binds for RPC and gossip, and
	// ClientAddr the address of its HTTPS API. Defaults: 127.0.0.1.
	BindAddr, ClientAddr string

	// HTTPSPort, SerfLANPort and ServerPort are Consul's listening ports.
	// Plain HTTP, DNS, gRPC and Serf WAN stay off.
	HTTPSPort, SerfLANPort, ServerPort int

	// Hosts are extra DNS names for the server certificate, such as the
	// compose host name "consul". localhost and 127.0.0.1 are always added.
	Hosts []string
}

// VaultSettings describes the Vault server.
type VaultSettings struct {
	// Address is Vault's API URL as the bootstrap reaches it, for example
	// https://127.0.0.1:8200. Default: https:// plus ListenAddr.
	Address string

	// ListenAddr is host:port of Vault's TLS listener, and ClusterAddr
	// host:port of its cluster listener.
	ListenAddr, ClusterAddr string

	// Hosts are extra DNS names for the server certificate, such as the
	// compose host name "vault". localhost and 127.0.0.1 are always added.
	Hosts []string
}

// Config is the input of both bootstrap phases.
type Config struct {
	// StateDir receives the root CA, server certificates, tokens and the
	// AppRole credential files. It must lie outside the repository and
	// outside every service's reach. Required.
	StateDir string

	// ServerStateDir is the path at which the Consul and Vault servers see
	// StateDir, written into their configuration fragments. Default:
	// StateDir. A compose stack mounts the state directory elsewhere.
	ServerStateDir string

	// InfraDir contains services.yaml, consul/ and vault/. Required by
	// Configure.
	InfraDir string

	// Services are the services to set up. Default: read from
	// InfraDir/services.yaml.
	Services []Service

	Consul ConsulSettings
	Vault  VaultSettings

	// GatewayHosts are extra DNS names for the gateway's public TLS
	// certificate, such as the compose host name "gateway". localhost,
	// 127.0.0.1 and ::1 are always included.
	GatewayHosts []string

	// RedisHosts are extra names for the Redis server certificate: DNS
	// names such as the compose host name "redis", or IP addresses, which
	// become IP SANs. localhost, 127.0.0.1 and ::1 are always included.
	RedisHosts []string

	// CertTTL is the max_ttl (and ttl) of every PKI role. Default 1h.
	CertTTL time.Duration

	// ConsulTokenTTL is the ttl of every Consul secrets-engine role: the
	// lease of a new token, which the service renews. Default 1h.
	ConsulTokenTTL time.Duration

	// ConsulTokenMaxTTL is the max_ttl of every Consul secrets-engine role:
	// no renewal extends a token past it. Default 24h, and at least
	// ConsulTokenTTL.
	ConsulTokenMaxTTL time.Duration

	// AppRoleTokenTTL and AppRoleTokenMaxTTL bound the Vault tokens of the
	// service AppRoles. Defaults 1h and 24h.
	AppRoleTokenTTL, AppRoleTokenMaxTTL time.Duration

	// ServerCertTTL is the validity of the Consul and Vault server
	// certificates and of the client certificates. Default 1 year.
	ServerCertTTL time.Duration

	// Log receives progress messages. Default: discard.
	Log *slog.Logger

	// Report receives one line per object and a summary. Default: discard.
	Report io.Writer

	// Now returns the current time. Default time.Now; tests use a fixed
	// clock.
	Now func() time.Time
}

// withDefaults returns a copy of c with every unset field defaulted.
func (c Config) withDefaults() Config {
	if c.ServerStateDir == "" {
		c.ServerStateDir = c.StateDir
	}

	setString(&c.Consul.Datacenter, DefaultDatacenter)
	setString(&c.Consul.Domain, DefaultDomain)
	setString(&c.Consul.NodeName, DefaultNodeName)
	setString(&c.Consul.BindAddr, DefaultBindAddr)
	setString(&c.Consul.ClientAddr, DefaultBindAddr)
	setInt(&c.Consul.HTTPSPort, DefaultConsulHTTPSPort)
	setInt(&c.Consul.SerfLANPort, DefaultConsulSerfPort)
	setInt(&c.Consul.ServerPort, DefaultConsulRPCPort)
	setString(&c.Consul.Address, net.JoinHostPort(c.Consul.ClientAddr, strconv.Itoa(c.Consul.HTTPSPort)))
	setString(&c.Consul.AddressForVault, c.Consul.Address)

	setString(&c.Vault.ListenAddr, net.JoinHostPort(DefaultBindAddr, strconv.Itoa(DefaultVaultPort)))
	setString(&c.Vault.ClusterAddr, net.JoinHostPort(DefaultBindAddr, strconv.Itoa(DefaultVaultCluster)))
	setString(&c.Vault.Address, "https://"+c.Vault.ListenAddr)

	setDuration(&c.CertTTL, DefaultCertTTL)
	setDuration(&c.ConsulTokenTTL, DefaultConsulTokenTTL)
	setDuration(&c.ConsulTokenMaxTTL, max(DefaultConsulTokenMax, c.ConsulTokenTTL))
	setDuration(&c.AppRoleTokenTTL, DefaultAppRoleTokenTTL)
	setDuration(&c.AppRoleTokenMaxTTL, DefaultAppRoleMaxTTL)
	setDuration(&c.ServerCertTTL, DefaultServerCertTTL)

	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Report == nil {
		c.Report = io.Discard
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// validate checks the settings that both phases share.
func (c Config) validate() error {
	if c.StateDir == "" {
		return errors.New("bootstrap: state directory is not set; pass a directory outside the repository")
	}
	if !filepath.IsAbs(c.StateDir) {
		return fmt.Errorf("bootstrap: state directory %q is not an absolute path", c.StateDir)
	}
	if !filepath.IsAbs(c.ServerStateDir) {
		return fmt.Errorf("bootstrap: server state directory %q is not an absolute path", c.ServerStateDir)
	}

	for _, addr := range []struct{ name, value string }{
		{"Consul address", c.Consul.Address},
		{"Consul address for Vault", c.Consul.AddressForVault},
		{"Vault listen address", c.Vault.ListenAddr},
		{"Vault cluster address", c.Vault.ClusterAddr},
	} {
		if _, _, err := net.SplitHostPort(addr.value); err != nil {
			return fmt.Errorf("bootstrap: %s %q is not host:port: %w", addr.name, addr.value, err)
		}
	}

	for _, port := range []struct {
		name  string
		value int
	}{
		{"Consul HTTPS port", c.Consul.HTTPSPort},
		{"Consul Serf LAN port", c.Consul.SerfLANPort},
		{"Consul server port", c.Consul.ServerPort},
	} {
		if port.value < 1 || port.value > 65535 {
			return fmt.Errorf("bootstrap: %s %d is out of range; use 1-65535", port.name, port.value)
		}
	}

	u, err := url.Parse(c.Vault.Address)
	if err != nil || u.Scheme != "https" || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return fmt.Errorf("bootstrap: Vault address %q is not https://host:port; Vault listens only on TLS",
			c.Vault.Address)
	}

	if c.CertTTL < MinCertTTL {
		return fmt.Errorf("bootstrap: certificate TTL %s is below the minimum %s", c.CertTTL, MinCertTTL)
	}
	if c.ConsulTokenTTL < MinCertTTL {
		return fmt.Errorf("bootstrap: Consul token TTL %s is below the minimum %s", c.ConsulTokenTTL, MinCertTTL)
	}
	if c.ConsulTokenMaxTTL < c.ConsulTokenTTL {
		return fmt.Errorf("bootstrap: Consul token max TTL %s is below its TTL %s", c.ConsulTokenMaxTTL, c.ConsulTokenTTL)
	}
	if c.CertTTL >= DefaultIntermediateTTL/renewBefore {
		return fmt.Errorf("bootstrap: certificate TTL %s must stay below a third of the intermediate's lifetime %s",
			c.CertTTL, DefaultIntermediateTTL)
	}
	if c.AppRoleTokenMaxTTL < c.AppRoleTokenTTL {
		return fmt.Errorf("bootstrap: AppRole token max TTL %s is below its TTL %s", c.AppRoleTokenMaxTTL, c.AppRoleTokenTTL)
	}
	if c.ServerCertTTL <= c.CertTTL {
		return fmt.Errorf("bootstrap: server certificate TTL %s must exceed the leaf certificate TTL %s",
			c.ServerCertTTL, c.CertTTL)
	}
	return nil
}

func setString(field *string, value string) {
	if *field == "" {
		*field = value
	}
}

func setInt(field *int, value int) {
	if *field == 0 {
		*field = value
	}
}

func setDuration(field *time.Duration, value time.Duration) {
	if *field == 0 {
		*field = value
	}
}
