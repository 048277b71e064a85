package boot

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"

	"github.com/bulwark-go/bulwark/platform/security/registry"
	"github.com/bulwark-go/bulwark/platform/security/vaultclient"
)

// Names of the environment variables that configure a service.
const (
	EnvVaultAddr     = "BULWARK_VAULT_ADDR"
	EnvConsulAddr    = "BULWARK_CONSUL_ADDR"
	EnvCAFile        = "BULWARK_CA_FILE"
	EnvRoleIDFile    = "BULWARK_ROLE_ID_FILE"
	EnvSecretIDFile  = "BULWARK_SECRET_ID_FILE"
	EnvAuthzFile     = "BULWARK_AUTHZ_FILE"
	EnvRateLimitFile = "BULWARK_RATELIMIT_FILE"
	EnvDataDir       = "BULWARK_DATA_DIR"
	EnvListen        = "BULWARK_LISTEN"
	EnvBrokerListen  = "BULWARK_BROKER_LISTEN"
	EnvAdminListen   = "BULWARK_ADMIN_LISTEN"
	EnvLogLevel      = "BULWARK_LOG_LEVEL"

	EnvGatewayListen      = "BULWARK_GATEWAY_LISTEN"
	EnvGatewayTLSCertFile = "BULWARK_GATEWAY_TLS_CERT_FILE"
	EnvGatewayTLSKeyFile  = "BULWARK_GATEWAY_TLS_KEY_FILE"
)

// Defaults of the optional variables.
const (
	DefaultListen        = ":0"
	DefaultGatewayListen = ":8443"
)

// Options says which optional parts of the environment a service needs.
type Options struct {
	// DataDir makes BULWARK_DATA_DIR required, for services with a
	// database.
	DataDir bool
	// Gateway makes the public HTTPS listener's variables required.
	Gateway bool
	// Routes are the gateway's route names ("POST /v1/orders"), against
	// which gateway.routes in the rate-limit file is checked. Optional.
	Routes []string
}

// Env is the validated configuration of a service. Every secret is a file
// path, never a value.
type Env struct {
	VaultAddr     string
	ConsulAddr    string
	CAFile        string
	RoleIDFile    string
	SecretIDFile  string
	AuthzFile     string
	RateLimitFile string // empty: limits from the environment and defaults only
	DataDir       string // empty unless Options.DataDir
	Listen        string
	BrokerListen  string
	AdminListen   string
	LogLevel      slog.Level

	GatewayListen      string // empty unless Options.Gateway
	GatewayTLSCertFile string
	GatewayTLSKeyFile  string

	// Production is true when BULWARK_ENV is production.
	Production bool
}

// LoadEnv reads the service's variables through getenv (os.Getenv in a
// service) and validates them. The error lists every missing or invalid
// variable, each with its fix. It names files but never reads out their
// contents. On error the returned Env holds the values read, so that
// CheckProduction can report its own findings in the same run; a service
// must not start with it.
func LoadEnv(getenv func(string) string, opts Options) (Env, error) {
	v := &envReader{getenv: getenv}
	e := Env{
		VaultAddr:     v.required(EnvVaultAddr, "Vault's URL, for example https://127.0.0.1:8200"),
		ConsulAddr:    v.required(EnvConsulAddr, "host:port of Consul's HTTPS API, for example 127.0.0.1:8501"),
		CAFile:        v.file(EnvCAFile, true, "the root CA PEM file, ca.pem in the bootstrap state directory"),
		RoleIDFile:    v.file(EnvRoleIDFile, true, "the service's AppRole role-id file"),
		SecretIDFile:  v.file(EnvSecretIDFile, true, "the service's AppRole secret-id file"),
		AuthzFile:     v.file(EnvAuthzFile, true, "the authorization table, infra/authz.yaml"),
		RateLimitFile: v.file(EnvRateLimitFile, false, ""),
		Listen:        v.address(EnvListen, DefaultListen, false),
		AdminListen:   v.address(EnvAdminListen, "", true),
	}
	e.BrokerListen = v.address(EnvBrokerListen, brokerDefault(e.Listen), false)

	if e.VaultAddr != "" {
		if err := vaultclient.ValidateAddress(e.VaultAddr); err != nil {
			v.fail(EnvVaultAddr, "%v", err)
		}
	}
	if e.ConsulAddr != "" {
		if err := registry.ValidateAddress(e.ConsulAddr); err != nil {
			v.fail(EnvConsulAddr, "%v", err)
		}
	}
	e.LogLevel = v.logLevel()
	e.Production = v.profile()
	if opts.DataDir {
		e.DataDir = v.dataDir()
	}
	if opts.Gateway {
		e.GatewayListen = v.address(EnvGatewayListen, DefaultGatewayListen, false)
		e.GatewayTLSCertFile = v.file(EnvGatewayTLSCertFile, true,
			"the gateway's public certificate, gateway/public.pem in the bootstrap state directory")
		e.GatewayTLSKeyFile = v.file(EnvGatewayTLSKeyFile, true,
			"the gateway's public key, gateway/public-key.pem in the bootstrap state directory")
	}
	if len(v.errs) > 0 {
		return e, fmt.Errorf("boot: invalid environment:\n%w", errors.Join(v.errs...))
	}
	return e, nil
}

// brokerDefault returns port 0 on the host of the gRPC listen address.
func brokerDefault(listen string) string {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return DefaultListen
	}
	return net.JoinHostPort(host, "0")
}

// envReader collects every problem of the environment.
type envReader struct {
	getenv func(string) string
	errs   []error
}

func (v *envReader) fail(name, format string, args ...any) {
	v.errs = append(v.errs, fmt.Errorf("  %s: %s", name, fmt.Sprintf(format, args...)))
}

func (v *envReader) get(name string) string { return strings.TrimSpace(v.getenv(name)) }

func (v *envReader) required(name, what string) string {
	value := v.get(name)
	if value == "" {
		v.fail(name, "missing; set it to %s", what)
	}
	return value
}

// file returns the path in name after checking that it names a readable
// regular file.
func (v *envReader) file(name string, required bool, what string) string {
	path := v.get(name)
	if path == "" {
		if required {
			v.fail(name, "missing; set it to the path of %s", what)
		}
		return ""
	}
	info, err := os.Stat(path)
	if err != nil {
		v.fail(name, "file %q cannot be read (%v); check the path and its permissions", path, pathError(err))
		return path
	}
	if !info.Mode().IsRegular() {
		v.fail(name, "%q is not a regular file; set the path of a file", path)
		return path
	}
	f, err := os.Open(path)
	if err != nil {
		v.fail(name, "file %q cannot be read (%v); check its permissions", path, pathError(err))
		return path
	}
	f.Close()
	return path
}

// pathError returns the cause of a file error without the path, which the
// message already names.
func pathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func (v *envReader) address(name, def string, required bool) string {
	value := v.get(name)
	if value == "" {
		if required {
			v.fail(name, "missing; set it to host:port, for example 127.0.0.1:9101")
		}
		return def
	}
	if _, port, err := net.SplitHostPort(value); err != nil || port == "" {
		v.fail(name, "%q is not host:port; write for example 127.0.0.1:9101, or :0 for a free port", value)
	}
	return value
}

func (v *envReader) logLevel() slog.Level {
	value := v.get(EnvLogLevel)
	if value == "" {
		return slog.LevelInfo
	}
	var level slog.Level
	switch strings.ToLower(value) {
	case "debug":
		level = slog.LevelDebug
	case "info":
		level = slog.LevelInfo
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	default:
		v.fail(EnvLogLevel, "%q is not a log level; use debug, info, warn or error", value)
	}
	return level
}

// dataDir returns BULWARK_DATA_DIR after checking that it is a directory or
// can be created.
func (v *envReader) dataDir() string {
	dir := v.get(EnvDataDir)
	if dir == "" {
		v.fail(EnvDataDir, "missing; set it to the directory of the service's database, for example .bulwark/data/<name>")
		return ""
	}
	info, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		// Created with mode 0700 by Service.
	case err != nil:
		v.fail(EnvDataDir, "directory %q cannot be read (%v); check its permissions", dir, pathError(err))
	case !info.IsDir():
		v.fail(EnvDataDir, "%q is not a directory; set the directory of the service's database", dir)
	}
	return dir
}
