package testenv

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// redisConfig is the configuration of the harness's redis-server, as in
// the local stack: loopback only, no persistence, TLS 1.3 only (port 0
// closes the plaintext port), and the ACL users of redisACL. Every client
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
		return redisPing(ctx, e.RedisAddr, e.RedisUsername, strings.TrimSpace(string(password)), config)
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

// redisPing logs in as username and sends PING over the Redis protocol
// (RESP), over TLS with config, or in plaintext when config is nil.
func redisPing(ctx context.Context, addr, username, password string, config *tls.Config) error {
	dialer := net.Dialer{Timeout: time.Second}
	var conn net.Conn
	var err error
	if config != nil {
		tlsDialer := tls.Dialer{NetDialer: &dialer, Config: config}
		conn, err = tlsDialer.DialContext(ctx, "tcp", addr)
	} else {
		conn, err = dialer.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	command := fmt.Sprintf("*3\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n*1\r\n$4\r\nPING\r\n",
		len(username), username, len(password), password)
	if _, err := conn.Write([]byte(command)); err != nil {
		return err
	}
	reader := bufio.NewReader(conn)
	for _, want := range []string{"+OK", "+PONG"} {
		line, err := reader.ReadString('\n')
		if err != nil {
			return err
		}
		if strings.TrimSpace(line) != want {
			// The reply may be an error such as -LOADING; it never echoes
			// the password.
			return fmt.Errorf("redis replied %q", strings.TrimSpace(line))
		}
	}
	return nil
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
