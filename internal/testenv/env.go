package testenv

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/internal/bootstrap"
)

// Options selects what Start sets up. The zero value starts Consul and Vault
// with the four services of infra/services.yaml.
type Options struct {
	// Services are extra service names to bootstrap besides the ones in
	// infra/services.yaml (gateway, users, orders, inventory). Each gets
	// the Consul policy in ConsulPolicies, or DefaultConsulPolicy.
	Services []string

	// ConsulPolicies overrides the Consul ACL policy (HCL) of any service,
	// listed or extra, by service name. Optional.
	ConsulPolicies map[string]string

	// CertTTL is the max_ttl of every PKI role; zero means 1h.
	CertTTL time.Duration

	// ConsulTokenTTL is the ttl of every Consul secrets-engine role; zero
	// means 1h.
	ConsulTokenTTL time.Duration

	// ConsulTokenMaxTTL is the max_ttl of every Consul secrets-engine role:
	// renewals never extend a token past it, so a service must replace its
	// token within this time. Zero means the bootstrap's default (24h, or
	// ConsulTokenTTL when that is longer). It must not be below
	// ConsulTokenTTL.
	ConsulTokenMaxTTL time.Duration

	// Redis also starts a real redis-server that listens only on TLS 1.3,
	// requires a client certificate that chains to the root CA, and
	// requires a login as one ACL user per service or the operator.
	Redis bool
}

// Env is a running set of servers, bootstrapped like the local stack.
type Env struct {
	// Dir is the temporary directory holding all state, server logs
	// included. The test framework removes it after the test.
	Dir string

	// CAFile is the PEM root CA: the trust bundle of the whole chain.
	CAFile string
	CAPool *x509.CertPool

	// ConsulAddr is "127.0.0.1:PORT" of Consul's HTTPS API. Plain HTTP is
	// off, client certificates are required and ACLs default to deny.
	ConsulAddr string

	// VaultAddr is "https://127.0.0.1:PORT".
	VaultAddr string

	ConsulManagementTokenFile string
	VaultRootTokenFile        string

	// OperatorCertFile and OperatorKeyFile are a client certificate signed
	// by the root CA, for tests that talk to Consul directly.
	OperatorCertFile, OperatorKeyFile string

	// RedisAddr, RedisUsername, RedisPasswordFile and RedisUsers are set
	// when Options.Redis is true. RedisAddr is "127.0.0.1:PORT" of the TLS
	// port, whose server certificate is Layout.RedisCert; RedisTLSConfig
	// returns a client config for it. Redis's default user is off.
	RedisAddr string

	// RedisUsername (RedisOperatorUser) and RedisPasswordFile are the
	// operator's login: PING, INFO, and GET, PTTL and SCAN on rate-limit
	// keys, nothing else.
	RedisUsername, RedisPasswordFile string

	// RedisUsers holds each service's Redis login, by service name. A
	// service's user may run only the rate-limit store's commands, and
	// only on keys under "bulwark:ratelimit:<name>:". Its password file is
	// in Layout.ServiceDir(name).
	RedisUsers map[string]RedisUser

	// AppRoles holds the AppRole credential files of every service, by
	// service name.
	AppRoles map[string]AppRole

	// StateDir is the bootstrap's state directory and Layout its files.
	StateDir string
	Layout   bootstrap.Layout

	// Services lists every bootstrapped service name, listed and extra.
	Services []string

	// BootstrapOutput is everything the bootstrap printed and logged (at
	// debug level) while Start ran it, for tests that check that no
	// secret leaks into output.
	BootstrapOutput *SyncBuffer

	config bootstrap.Config
	consul *process
	vault  *process
	redis  *process
}

// AppRole names the files that hold one service's AppRole credentials. Each
// file is mode 0600 and holds one line.
type AppRole struct{ RoleIDFile, SecretIDFile string }

// validate checks the durations of opts before any server starts, so that a
// bad value fails at once rather than after the bootstrap has begun.
func (o Options) validate() error {
	for _, d := range []struct {
		name  string
		value time.Duration
	}{
		{"CertTTL", o.CertTTL},
		{"ConsulTokenTTL", o.ConsulTokenTTL},
		{"ConsulTokenMaxTTL", o.ConsulTokenMaxTTL},
	} {
		if d.value < 0 {
			return fmt.Errorf("testenv: Options.%s %v is negative; use zero for the default or a positive duration",
				d.name, d.value)
		}
	}
	ttl := o.ConsulTokenTTL
	if ttl == 0 {
		ttl = bootstrap.DefaultConsulTokenTTL
	}
	if o.ConsulTokenMaxTTL != 0 && o.ConsulTokenMaxTTL < ttl {
		return fmt.Errorf("testenv: Options.ConsulTokenMaxTTL %v is below the Consul token TTL %v; set "+
			"ConsulTokenTTL to at most %v as well", o.ConsulTokenMaxTTL, ttl, o.ConsulTokenMaxTTL)
	}
	return nil
}

// startAttempts bounds the retries when a chosen port was taken before the
// server bound it.
const startAttempts = 3

// Start starts Consul and Vault (and Redis when asked), bootstraps them and
// returns their addresses. It skips the test under go test -short, fails
// the test when a binary is missing or a server does not come up, and stops
// every server in t.Cleanup.
func Start(t testing.TB, opts Options) *Env {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: needs Consul and Vault")
	}
	if err := opts.validate(); err != nil {
		t.Fatal(err)
	}
	consulBin, err := consulServer.find()
	if err != nil {
		t.Fatal(err)
	}
	vaultBin, err := vaultServer.find()
	if err != nil {
		t.Fatal(err)
	}
	redisBin := ""
	if opts.Redis {
		if redisBin, err = redisServer.find(); err != nil {
			t.Fatal(err)
		}
	}
	infraDir, err := findInfraDir()
	if err != nil {
		t.Fatal(err)
	}
	services, err := bootstrap.LoadServices(filepath.Join(infraDir, "services.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	services, err = withExtraServices(services, opts)
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	layout := bootstrap.NewLayout(state)
	e := &Env{
		Dir:                       dir,
		CAFile:                    layout.CACert,
		ConsulManagementTokenFile: layout.ConsulManagementToken,
		VaultRootTokenFile:        layout.VaultRootToken,
		OperatorCertFile:          layout.OperatorCert,
		OperatorKeyFile:           layout.OperatorKey,
		AppRoles:                  make(map[string]AppRole, len(services)),
		StateDir:                  state,
		Layout:                    layout,
		BootstrapOutput:           &SyncBuffer{},
	}
	for _, s := range services {
		e.Services = append(e.Services, s.Name)
		e.AppRoles[s.Name] = AppRole{RoleIDFile: layout.ServiceRoleID(s.Name), SecretIDFile: layout.ServiceSecretID(s.Name)}
	}
	e.config = bootstrap.Config{
		StateDir:          state,
		InfraDir:          infraDir,
		Services:          services,
		CertTTL:           opts.CertTTL,
		ConsulTokenTTL:    opts.ConsulTokenTTL,
		ConsulTokenMaxTTL: opts.ConsulTokenMaxTTL,
		Log:               slog.New(slog.NewTextHandler(e.BootstrapOutput, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Report:            e.BootstrapOutput,
	}
	e.consul = newProcess("consul", consulBin, dir, "agent",
		"-config-file", filepath.Join(infraDir, "consul", "server.hcl"), "-config-file", layout.ConsulFragment)
	e.vault = newProcess("vault", vaultBin, dir, "server",
		"-config", filepath.Join(infraDir, "vault", "server.hcl"), "-config", layout.VaultFragment)
	registerStop(t, e.vault)
	registerStop(t, e.consul)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := e.startServers(ctx, t); err != nil {
		t.Fatal(err)
	}
	if _, err := bootstrap.Configure(ctx, e.config); err != nil {
		t.Fatalf("testenv: %v\nbootstrap output:\n%s", err, e.BootstrapOutput.String())
	}
	if opts.Redis {
		if err := e.startRedis(ctx, t, redisBin); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// startServers chooses ports, writes the certificates and fragments, and
// starts Consul and Vault, retrying with new ports when one was taken.
func (e *Env) startServers(ctx context.Context, t testing.TB) error {
	var err error
	for attempt := 1; attempt <= startAttempts; attempt++ {
		var ports []int
		if ports, err = freePorts(5); err != nil {
			return err
		}
		e.config.Consul.HTTPSPort, e.config.Consul.SerfLANPort, e.config.Consul.ServerPort = ports[0], ports[1], ports[2]
		e.config.Consul.Address = net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
		e.config.Vault.ListenAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[3]))
		e.config.Vault.ClusterAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[4]))
		e.config.Vault.Address = "https://" + e.config.Vault.ListenAddr
		e.ConsulAddr = e.config.Consul.Address
		e.VaultAddr = e.config.Vault.Address

		if _, err = bootstrap.Certs(ctx, e.config); err != nil {
			return fmt.Errorf("testenv: %w", err)
		}
		if e.CAPool == nil {
			if e.CAPool, err = loadPool(e.CAFile); err != nil {
				return err
			}
		}
		if err = e.startConsul(ctx); err == nil {
			if err = e.startVault(ctx); err == nil {
				return nil
			}
		}
		if !e.consul.logContains("address already in use") && !e.vault.logContains("address already in use") {
			return err
		}
		t.Logf("testenv: a port was taken (attempt %d of %d); retrying with new ports", attempt, startAttempts)
		_ = e.vault.stop()
		_ = e.consul.stop()
	}
	return err
}

// BootstrapConfig returns the bootstrap configuration of the environment,
// for tests that run the bootstrap again.
func (e *Env) BootstrapConfig() bootstrap.Config {
	return e.config
}

// OperatorTLSConfig returns a client TLS config that trusts the root CA and
// presents the operator certificate, as Consul's HTTPS API requires.
func (e *Env) OperatorTLSConfig(t testing.TB) *tls.Config {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(e.OperatorCertFile, e.OperatorKeyFile)
	if err != nil {
		t.Fatalf("testenv: load operator certificate: %v", err)
	}
	return &tls.Config{RootCAs: e.CAPool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
}

func loadPool(caFile string) (*x509.CertPool, error) {
	data, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("testenv: read CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("testenv: %s contains no certificate", caFile)
	}
	return pool, nil
}
