package stack

import (
	"context"
	"crypto/tls"
	"github.com/bulwark-go/bulwark/internal/redisacl"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bulwark-go/bulwark/internal/bootstrap"
)

// startStackRedis starts the stack's redis-server with certificates from
// bootstrap certs on a free loopback port, and stops it when the test ends.
func startStackRedis(t *testing.T) *stack {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: needs redis-server")
	}
	bin, err := redisBinary()
	if err != nil {
		t.Fatal(err)
	}
	if bin == "" {
		t.Fatal("redis-server not found; install Debian's redis-server package or set BULWARK_REDIS_BIN")
	}
	root, err := FindRepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	s, err := newStack(Config{RepoRoot: root, Dir: t.TempDir(), Out: &strings.Builder{}})
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{s.paths.Redis, s.paths.Run} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	_, err = bootstrap.Certs(context.Background(), bootstrap.Config{
		StateDir: s.paths.State,
		InfraDir: filepath.Join(root, "infra"),
		Consul:   bootstrap.ConsulSettings{HTTPSPort: 18501, SerfLANPort: 18301, ServerPort: 18300},
		Vault:    bootstrap.VaultSettings{ListenAddr: "127.0.0.1:18200", ClusterAddr: "127.0.0.1:18201"},
		Report:   &strings.Builder{},
	})
	if err != nil {
		t.Fatal(err)
	}
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.ports.Redis = listener.Addr().(*net.TCPAddr).Port
	listener.Close()

	p, err := s.startRedis(bin)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(p.PID, syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(p.PID, syscall.SIGKILL)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := waitReady(ctx, Redis, s.paths.Log(Redis), p.exited, s.redisReady); err != nil {
		t.Fatal(err)
	}
	return s
}

// stackRedisClient logs in to the stack's Redis as user with the password
// in passwordFile, over TLS with the operator certificate.
func stackRedisClient(t *testing.T, s *stack, user, passwordFile string) *redis.Client {
	t.Helper()
	data, err := os.ReadFile(passwordFile)
	if err != nil {
		t.Fatal(err)
	}
	config, err := s.operatorTLS()
	if err != nil {
		t.Fatal(err)
	}
	client := redis.NewClient(&redis.Options{
		Addr: s.redisAddr(), Username: user, Password: strings.TrimSpace(string(data)), TLSConfig: config,
		MaxRetries: -1, DisableIdentity: true, DialTimeout: 2 * time.Second,
	})
	t.Cleanup(func() { client.Close() })
	return client
}

func TestRedisACLLimitsEachService(t *testing.T) {
	s := startStackRedis(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	gatewayKey := redisKeyPrefix + "gateway:acl-test"
	setScript := "return redis.call('SET', KEYS[1], redis.call('TIME')[1], 'PX', 60000)"

	for _, name := range s.services {
		info, err := os.Stat(s.redisServicePassword(name))
		if err != nil {
			t.Fatalf("Redis password of %s: %v", name, err)
		}
		if info.Mode().Perm() != 0o600 {
			t.Errorf("Redis password of %s has mode %o, want 600", name, info.Mode().Perm())
		}
	}
	config, err := os.ReadFile(filepath.Join(s.paths.Redis, "redis.conf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range s.services {
		password, err := os.ReadFile(s.redisServicePassword(name))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(config), strings.TrimSpace(string(password))) {
			t.Errorf("redis.conf contains the password of %s, want only its hash", name)
		}
	}

	gateway := stackRedisClient(t, s, "gateway", s.redisServicePassword("gateway"))
	if err := gateway.Eval(ctx, setScript, []string{gatewayKey}).Err(); err != nil {
		t.Fatalf("gateway user sets its own key with EVAL: %v", err)
	}

	inventory := stackRedisClient(t, s, "inventory", s.redisServicePassword("inventory"))
	for _, c := range []struct {
		desc string
		err  error
	}{
		{"DEL of a gateway key", inventory.Del(ctx, gatewayKey).Err()},
		{"SET of a gateway key", inventory.Set(ctx, gatewayKey, "0", time.Minute).Err()},
		{"GET of a gateway key", inventory.Get(ctx, gatewayKey).Err()},
		{"EVAL on a gateway key", inventory.Eval(ctx, setScript, []string{gatewayKey}).Err()},
		{"FLUSHALL", inventory.FlushAll(ctx).Err()},
		{"CONFIG SET", inventory.ConfigSet(ctx, "maxmemory", "1").Err()},
		{"SHUTDOWN", inventory.Do(ctx, "SHUTDOWN", "NOSAVE").Err()},
		{"ACL LIST", inventory.Do(ctx, "ACL", "LIST").Err()},
	} {
		if c.err == nil || !strings.HasPrefix(c.err.Error(), "NOPERM") {
			t.Errorf("inventory %s: error %v, want NOPERM", c.desc, c.err)
		}
	}
	if err := gateway.Get(ctx, gatewayKey).Err(); err != nil {
		t.Errorf("gateway key after the inventory user's attempts: %v", err)
	}

	operator := stackRedisClient(t, s, redisOperatorUser, s.paths.RedisPassword())
	if err := operator.Get(ctx, gatewayKey).Err(); err != nil {
		t.Errorf("operator GET of a gateway key: %v", err)
	}
	if err := operator.Del(ctx, gatewayKey).Err(); err == nil || !strings.HasPrefix(err.Error(), "NOPERM") {
		t.Errorf("operator DEL: error %v, want NOPERM", err)
	}

	if err := redisacl.Ping(ctx, s.redisAddr(), "default", "", mustOperatorTLS(t, s)); err == nil {
		t.Error("Redis accepted a login as the default user without a password")
	}
	operatorPassword, err := os.ReadFile(s.paths.RedisPassword())
	if err != nil {
		t.Fatal(err)
	}
	if err := redisacl.Ping(ctx, s.redisAddr(), "default", strings.TrimSpace(string(operatorPassword)), mustOperatorTLS(t, s)); err == nil {
		t.Error("Redis accepted a login as the default user with the operator password")
	}
}

func mustOperatorTLS(t *testing.T, s *stack) *tls.Config {
	t.Helper()
	config, err := s.operatorTLS()
	if err != nil {
		t.Fatal(err)
	}
	return config
}
