package composetc

import (
	"bufio"
	"context"
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
			filepath.Join(state, "redis", "password"),
			filepath.Join(data, name),
		}
	}
	allowed := map[string][]string{
		"bootstrap-certs": {state},
		"bootstrap":       {state},
		"consul":          {filepath.Join(state, "consul"), filepath.Join(state, "ca.pem")},
		"vault":           {filepath.Join(state, "vault"), filepath.Join(state, "ca.pem")},
		"redis":           {filepath.Join(state, "redis", "redis.conf")},
		"gateway": {
			filepath.Join(state, "ca.pem"),
			filepath.Join(state, "services", "gateway"),
			filepath.Join(state, "redis", "password"),
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

// testRedisRequiresPassword checks that Redis rejects a command from a
// client that has not authenticated. The host reaches Redis at its fixed
// address on the internal network.
func testRedisRequiresPassword(t *testing.T, s *stack) {
	conn, err := net.DialTimeout("tcp", s.subnet+".12:6379", 5*time.Second)
	if err != nil {
		t.Fatalf("connect to Redis: %v", err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write([]byte("SET probe attacker\r\n")); err != nil {
		t.Fatalf("write to Redis: %v", err)
	}
	reply, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		t.Fatalf("read the Redis reply: %v", err)
	}
	if !strings.HasPrefix(reply, "-NOAUTH") {
		t.Errorf("Redis replied %q to an unauthenticated SET, want -NOAUTH", reply)
	}
}
