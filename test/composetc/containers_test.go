package composetc

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// allContainers are the compose services, one container each.
var allContainers = append([]string{"bootstrap-certs", "bootstrap"}, services...)

// testPublishedPorts checks that the gateway is the only container with a
// published port, and that it publishes 8443 on loopback only.
func testPublishedPorts(ctx context.Context, t *testing.T, s *stack) {
	for _, name := range allContainers {
		container, err := s.compose.ServiceContainer(ctx, name)
		if err != nil {
			t.Fatalf("find the %s container: %v", name, err)
		}
		inspect, err := container.Inspect(ctx)
		if err != nil {
			t.Fatalf("inspect %s: %v", name, err)
		}
		var published []string
		if inspect.NetworkSettings != nil {
			for port, bindings := range inspect.NetworkSettings.Ports {
				for _, b := range bindings {
					published = append(published, fmt.Sprintf("%s:%s->%s", b.HostIP, b.HostPort, port))
				}
			}
		}
		var want []string
		if name == "gateway" {
			want = []string{fmt.Sprintf("127.0.0.1:%d->8443/tcp", s.port)}
		}
		if !slices.Equal(published, want) {
			t.Errorf("%s publishes %v, want %v", name, published, want)
		}
	}
}

// testMounts checks that every container mounts only the state it owns: a
// service its own credentials, Consul and Vault their own directories, and
// only the bootstrap containers the whole state directory with the root CA
// key.
func testMounts(ctx context.Context, t *testing.T, s *stack) {
	state := s.stateDir()
	data := filepath.Join(s.composeDir(), "data")
	serviceMounts := func(name string) []string {
		return []string{
			filepath.Join(state, "ca.pem"),
			filepath.Join(state, "services", name),
			filepath.Join(data, name),
		}
	}
	allowed := map[string][]string{
		"bootstrap-certs": {state},
		"bootstrap":       {state},
		"consul":          {filepath.Join(state, "consul"), filepath.Join(state, "ca.pem")},
		"vault":           {filepath.Join(state, "vault"), filepath.Join(state, "ca.pem")},
		"redis": {
			filepath.Join(state, "redis", "redis.conf"),
			filepath.Join(state, "redis", "server.pem"),
			filepath.Join(state, "redis", "server-key.pem"),
			filepath.Join(state, "ca.pem"),
		},
		"gateway": {
			filepath.Join(state, "ca.pem"),
			filepath.Join(state, "services", "gateway"),
			filepath.Join(state, "gateway"),
		},
		"users":     serviceMounts("users"),
		"orders":    serviceMounts("orders"),
		"inventory": serviceMounts("inventory"),
	}
	for _, name := range allContainers {
		container, err := s.compose.ServiceContainer(ctx, name)
		if err != nil {
			t.Fatalf("find the %s container: %v", name, err)
		}
		inspect, err := container.Inspect(ctx)
		if err != nil {
			t.Fatalf("inspect %s: %v", name, err)
		}
		for _, mount := range inspect.Mounts {
			if mount.Type == "tmpfs" {
				continue
			}
			if mount.Type != "bind" || !slices.Contains(allowed[name], mount.Source) {
				t.Errorf("%s mounts %s %s; it may mount only %v", name, mount.Type, mount.Source, allowed[name])
			}
		}
	}
}

// testRedisRequiresPassword checks that Redis rejects plaintext clients,
// TLS clients without a certificate, and clients with a trusted certificate
// that have not sent the password. The host reaches Redis at its fixed
// address on the internal network, which its certificate names.
func testRedisRequiresPassword(t *testing.T, s *stack) {
	addr := s.subnet + ".12:6379"
	roots, err := s.caPool()
	if err != nil {
		t.Fatal(err)
	}
	operator := filepath.Join(s.stateDir(), "operator")
	trusted, err := tls.LoadX509KeyPair(filepath.Join(operator, "client.pem"), filepath.Join(operator, "client-key.pem"))
	if err != nil {
		t.Fatalf("load the operator client certificate: %v", err)
	}

	t.Run("plaintext", func(t *testing.T) {
		conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatalf("connect to Redis: %v", err)
		}
		defer conn.Close()
		if reply, err := sendRedisCommand(conn); err == nil {
			t.Errorf("Redis replied %q to a plaintext SET, want the connection closed", reply)
		}
	})

	t.Run("TLS without client certificate", func(t *testing.T) {
		config := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS13}
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, config)
		if err != nil {
			return // rejected during the handshake
		}
		defer conn.Close()
		if reply, err := sendRedisCommand(conn); err == nil {
			t.Errorf("Redis replied %q to a client without a certificate, want the handshake rejected", reply)
		}
	})

	t.Run("trusted certificate without password", func(t *testing.T) {
		config := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{trusted}}
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, config)
		if err != nil {
			t.Fatalf("TLS to Redis with the operator certificate: %v", err)
		}
		defer conn.Close()
		reply, err := sendRedisCommand(conn)
		if err != nil {
			t.Fatalf("read the Redis reply: %v", err)
		}
		if !strings.HasPrefix(reply, "-NOAUTH") {
			t.Errorf("Redis replied %q to an unauthenticated SET, want -NOAUTH", reply)
		}
	})
}

// sendRedisCommand sends SET probe attacker on conn and returns the first
// line of the reply.
func sendRedisCommand(conn net.Conn) (string, error) {
	if err := conn.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		return "", err
	}
	if _, err := conn.Write([]byte("SET probe attacker\r\n")); err != nil {
		return "", err
	}
	return bufio.NewReader(conn).ReadString('\n')
}
