package testenv

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/bulwark-go/bulwark/internal/redisacl"
)

// redisConfig is the configuration of the harness's redis-server, as in
// the local stack: loopback only, no persistence, TLS 1.3 only (port 0
// closes the plaintext port), and the ACL users of redisacl.Rules. Every client
// must present a certificate that chains to the root CA and log in as one
// of those users. The file holds password hashes, so it is mode 0600.
const redisConfig = `bind 127.0.0.1
port 0
tls-port %d
tls-cert-file %s
tls-key-file %s
tls-ca-cert-file %s
tls-auth-clients yes
tls-protocols "TLSv1.3"
protected-mode yes
daemonize no
save ""
appendonly no
dir %s
%s`

// startRedis writes the password and configuration files and starts
// redis-server, retrying with a new port when the chosen one was taken.
func (e *Env) startRedis(ctx context.Context, t testing.TB, bin string) error {
	dir := filepath.Join(e.Dir, "redis")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("testenv: %w", err)
	}
	acl, err := e.createRedisUsers(dir)
	if err != nil {
		return err
	}
	configFile := filepath.Join(dir, "redis.conf")
	e.redis = newProcess("redis", bin, e.Dir, configFile)
	registerStop(t, e.redis)

	for attempt := 1; attempt <= startAttempts; attempt++ {
		ports, perr := freePorts(1)
		if perr != nil {
			return perr
		}
		e.RedisAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
		text := fmt.Sprintf(redisConfig, ports[0], e.Layout.RedisCert, e.Layout.RedisKey, e.CAFile, dir, acl)
		if err := os.WriteFile(configFile, []byte(text), 0o600); err != nil {
			return fmt.Errorf("testenv: %w", err)
		}
		if err = e.startRedisProcess(ctx); err == nil {
			return nil
		}
		_ = e.redis.stop()
		if !e.redis.logContains("Address already in use") {
			return err
		}
		t.Logf("testenv: Redis port was taken (attempt %d of %d); retrying", attempt, startAttempts)
	}
	return err
}

func (e *Env) startRedisProcess(ctx context.Context) error {
	if err := e.redis.start(); err != nil {
		return err
	}
	password, err := os.ReadFile(e.RedisPasswordFile)
	if err != nil {
		return fmt.Errorf("testenv: %w", err)
	}
	config, err := e.redisOperatorTLS()
	if err != nil {
		return err
	}
	return e.waitReady(ctx, e.redis, func() error {
		return redisacl.Ping(ctx, e.RedisAddr, e.RedisUsername, strings.TrimSpace(string(password)), config)
	})
}

// RedisTLSConfig returns a client TLS config for Redis: TLS 1.3, Redis's
// certificate checked against the root CA, and the operator certificate
// (signed by the root CA) as the client certificate. Services present
// their Vault certificate instead.
func (e *Env) RedisTLSConfig(t testing.TB) *tls.Config {
	t.Helper()
	config, err := e.redisOperatorTLS()
	if err != nil {
		t.Fatal(err)
	}
	return config
}

func (e *Env) redisOperatorTLS() (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(e.OperatorCertFile, e.OperatorKeyFile)
	if err != nil {
		return nil, fmt.Errorf("testenv: load operator certificate: %w", err)
	}
	return &tls.Config{RootCAs: e.CAPool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13}, nil
}

// StopRedis stops Redis. Nothing persists: StartRedis brings back an empty
// Redis on the same port with the same users and passwords.
func (e *Env) StopRedis(t testing.TB) {
	t.Helper()
	if e.redis == nil {
		t.Fatal("testenv: StopRedis needs Options.Redis")
	}
	if err := e.redis.stop(); err != nil {
		t.Logf("testenv: redis exited with %v", err)
	}
}

// StartRedis starts a stopped Redis on the same port with the same users
// and passwords.
func (e *Env) StartRedis(t testing.TB) {
	t.Helper()
	if e.redis == nil {
		t.Fatal("testenv: StartRedis needs Options.Redis")
	}
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	if err := e.startRedisProcess(ctx); err != nil {
		t.Fatal(err)
	}
}
