package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/bulwark-go/bulwark/internal/bootstrap"
)

// errHelp reports that -h was given and the usage is already printed.
var errHelp = errors.New("help requested")

// hostList collects a repeatable flag.
type hostList []string

func (h *hostList) String() string { return strings.Join(*h, ",") }

func (h *hostList) Set(value string) error {
	if value == "" || strings.ContainsAny(value, " \t/,") {
		return fmt.Errorf("host name %q is not a single DNS name", value)
	}
	*h = append(*h, value)
	return nil
}

// defaultStateDir is $XDG_STATE_HOME/bulwark, or ~/.local/state/bulwark:
// outside the repository, so no secret can be committed by accident.
func defaultStateDir() string {
	if dir := os.Getenv("XDG_STATE_HOME"); dir != "" {
		return filepath.Join(dir, "bulwark")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".local", "state", "bulwark")
}

// parseFlags turns the flags of one phase into a bootstrap.Config.
func parseFlags(phase string, args []string, stdout, stderr io.Writer) (bootstrap.Config, *slog.Logger, error) {
	var cfg bootstrap.Config
	flags := flag.NewFlagSet("bulwark bootstrap "+phase, flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.StringVar(&cfg.StateDir, "state", defaultStateDir(), "state `directory` for the CA, certificates, tokens and credentials; keep it outside the repository")
	flags.StringVar(&cfg.ServerStateDir, "server-state", "", "`path` at which Consul and Vault see the state directory (default: -state)")
	flags.StringVar(&cfg.InfraDir, "infra", "infra", "infra `directory` with services.yaml and the Consul and Vault policies")
	flags.StringVar(&cfg.Consul.Address, "consul-addr", "", "`host:port` of Consul's HTTPS API (default: client address and HTTPS port)")
	flags.StringVar(&cfg.Consul.AddressForVault, "consul-addr-for-vault", "", "`host:port` at which Vault reaches Consul's HTTPS API (default: -consul-addr)")
	flags.StringVar(&cfg.Consul.Datacenter, "datacenter", bootstrap.DefaultDatacenter, "Consul `datacenter`")
	flags.StringVar(&cfg.Consul.Domain, "domain", bootstrap.DefaultDomain, "Consul `domain`")
	flags.StringVar(&cfg.Consul.NodeName, "node-name", bootstrap.DefaultNodeName, "Consul node `name`")
	flags.StringVar(&cfg.Consul.BindAddr, "consul-bind", bootstrap.DefaultBindAddr, "`address` Consul binds for RPC and gossip")
	flags.StringVar(&cfg.Consul.ClientAddr, "consul-client-addr", bootstrap.DefaultBindAddr, "`address` of Consul's HTTPS API listener")
	flags.IntVar(&cfg.Consul.HTTPSPort, "consul-https-port", bootstrap.DefaultConsulHTTPSPort, "Consul HTTPS API `port`")
	flags.IntVar(&cfg.Consul.SerfLANPort, "consul-serf-port", bootstrap.DefaultConsulSerfPort, "Consul Serf LAN `port`")
	flags.IntVar(&cfg.Consul.ServerPort, "consul-server-port", bootstrap.DefaultConsulRPCPort, "Consul server RPC `port`")
	flags.Var((*hostList)(&cfg.Consul.Hosts), "consul-host", "extra DNS `name` for Consul's server certificate (repeatable)")
	flags.StringVar(&cfg.Vault.Address, "vault-addr", "", "Vault API `URL`, https only (default: https:// and -vault-listen)")
	flags.StringVar(&cfg.Vault.ListenAddr, "vault-listen", "", "`host:port` of Vault's TLS listener (default 127.0.0.1:8200)")
	flags.StringVar(&cfg.Vault.ClusterAddr, "vault-cluster", "", "`host:port` of Vault's cluster listener (default 127.0.0.1:8201)")
	flags.Var((*hostList)(&cfg.Vault.Hosts), "vault-host", "extra DNS `name` for Vault's server certificate (repeatable)")
	flags.Var((*hostList)(&cfg.GatewayHosts), "gateway-host", "extra DNS `name` for the gateway's public TLS certificate (repeatable)")
	flags.Var((*hostList)(&cfg.RedisHosts), "redis-host", "extra DNS `name` or IP address for the Redis server certificate (repeatable)")
	flags.DurationVar(&cfg.CertTTL, "cert-ttl", bootstrap.DefaultCertTTL, "max_ttl and ttl of every PKI role (`duration`)")
	flags.DurationVar(&cfg.ConsulTokenTTL, "consul-token-ttl", bootstrap.DefaultConsulTokenTTL, "ttl of every Consul secrets-engine role (`duration`)")
	flags.DurationVar(&cfg.ConsulTokenMaxTTL, "consul-token-max-ttl", 0, "max_ttl of every Consul secrets-engine role (`duration`, default 24h)")
	logFormat := flags.String("log-format", "text", "log `format` on standard error: text or json")
	verbose := flags.Bool("v", false, "log every object checked")
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cfg, nil, errHelp
		}
		return cfg, nil, err
	}
	if flags.NArg() > 0 {
		return cfg, nil, fmt.Errorf("unexpected argument %q; all options are flags", flags.Arg(0))
	}
	if cfg.StateDir == "" {
		return cfg, nil, errors.New("-state is empty and no home directory is known; pass -state DIR")
	}
	var err error
	if cfg.StateDir, err = filepath.Abs(cfg.StateDir); err != nil {
		return cfg, nil, fmt.Errorf("-state %q: %w", cfg.StateDir, err)
	}
	if cfg.ServerStateDir == "" {
		cfg.ServerStateDir = cfg.StateDir
	}

	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	options := &slog.HandlerOptions{Level: level}
	var handler slog.Handler
	switch *logFormat {
	case "text":
		handler = slog.NewTextHandler(stderr, options)
	case "json":
		handler = slog.NewJSONHandler(stderr, options)
	default:
		return cfg, nil, fmt.Errorf("-log-format %q is invalid; use text or json", *logFormat)
	}
	cfg.Log = slog.New(handler).With("component", "bootstrap")
	cfg.Report = stdout
	return cfg, cfg.Log, nil
}

// runPhase runs one bootstrap phase.
func runPhase(ctx context.Context, phase string, cfg bootstrap.Config) error {
	var err error
	switch phase {
	case "certs":
		_, err = bootstrap.Certs(ctx, cfg)
	case "configure":
		_, err = bootstrap.Configure(ctx, cfg)
	case "unseal":
		err = bootstrap.Unseal(ctx, cfg)
	}
	return err
}
