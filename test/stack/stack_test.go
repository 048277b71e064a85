package stack

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/internal/stack"
)

// commandTimeout bounds one bulwark command. A cold up builds the four
// services. It does not cover a build of Consul or Vault by ensure.sh, so
// the test requires them built first (make servers).
const commandTimeout = 6 * time.Minute

// harness runs the built bulwark binary against one state directory.
type harness struct {
	root    string // repository root
	bin     string // bulwark binary
	dir     string // state directory
	base    int    // port base
	ports   stack.Ports
	servers []string // BULWARK_CONSUL_BIN and BULWARK_VAULT_BIN settings

	// seen collects every process record the test read, so that cleanup
	// can kill what a failed down left running.
	seen []stack.Record
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: starts Consul, Vault, Redis and the services")
	}
	root, err := stack.FindRepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{root: root, dir: filepath.Join(t.TempDir(), "bulwark")}
	h.bin = filepath.Join(t.TempDir(), "bulwark")
	build := exec.Command("go", "build", "-o", h.bin, "./cmd/bulwark")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/bulwark: %v\n%s", err, out)
	}
	for _, server := range []struct{ name, envVar string }{{"consul", "BULWARK_CONSUL_BIN"}, {"vault", "BULWARK_VAULT_BIN"}} {
		path := os.Getenv(server.envVar)
		if path == "" {
			path = cachedServer(t, server.name)
		}
		h.servers = append(h.servers, server.envVar+"="+path)
	}
	h.base = freePortBase(t)
	if h.ports, err = stack.PlanPorts(h.base); err != nil {
		t.Fatal(err)
	}
	// Whatever happens, stop what the test started: first with down,
	// then with SIGKILL for any recorded process that down left running.
	t.Cleanup(func() {
		if _, err := os.Stat(h.dir); err == nil {
			out, _ := h.run("down")
			if t.Failed() {
				t.Logf("cleanup down:\n%s", out)
			}
		}
		for _, r := range h.seen {
			if r.Alive() {
				t.Errorf("%s (pid %d) survived down; killing it", r.Name, r.PID)
				_ = syscall.Kill(r.PID, syscall.SIGKILL)
			}
		}
	})
	return h
}

// cachedServer returns the binary that tools/servers/ensure.sh has built,
// and fails the test when ensure.sh would have to build it first.
func cachedServer(t *testing.T, name string) string {
	t.Helper()
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			t.Fatal(err)
		}
		cache = filepath.Join(home, ".cache")
	}
	versions := map[string]string{"consul": "v1.16.3", "vault": "v1.14.8"}
	path := filepath.Join(cache, "bulwark", "servers", name+"-"+versions[name], name)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("no %s binary at %s: run `make servers` or set BULWARK_%s_BIN", name, path, strings.ToUpper(name))
	}
	return path
}

// freePortBase returns a base whose 11 ports are free on 127.0.0.1 now.
func freePortBase(t *testing.T) int {
	t.Helper()
	for range 50 {
		base := 20000 + rand.IntN(20000)
		plan, err := stack.PlanPorts(base)
		if err != nil {
			t.Fatal(err)
		}
		if allFree(plan) {
			return base
		}
	}
	t.Fatal("no free range of 11 loopback ports found")
	return 0
}

func allFree(plan stack.Ports) bool {
	for _, p := range plan.All() {
		if !portFree(p.Port) {
			return false
		}
	}
	return true
}

func portFree(port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// run runs one bulwark command with the harness's state directory and
// ports and returns its combined output.
func (h *harness) run(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, h.bin, args...)
	cmd.Dir = h.root
	cmd.Env = append(os.Environ(), "BULWARK_STACK_DIR="+h.dir, "BULWARK_PORT_BASE="+strconv.Itoa(h.base))
	cmd.Env = append(cmd.Env, h.servers...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// mustRun runs a bulwark command and fails t, the test or subtest that
// calls it, when the command fails.
func (h *harness) mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, err := h.run(args...)
	if err != nil {
		t.Fatalf("bulwark %s: %v\n%s%s", strings.Join(args, " "), err, out, h.logTails())
	}
	return out
}

// logTails returns the last lines of every component's log.
func (h *harness) logTails() string {
	var b strings.Builder
	logs, _ := filepath.Glob(filepath.Join(h.dir, "run", "*.log"))
	for _, path := range logs {
		data, _ := os.ReadFile(path)
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		if len(lines) > 15 {
			lines = lines[len(lines)-15:]
		}
		fmt.Fprintf(&b, "\n--- %s\n%s", filepath.Base(path), strings.Join(lines, "\n"))
	}
	return b.String()
}

// records returns the process records of the running stack.
func (h *harness) records(t *testing.T) map[string]stack.Record {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(h.dir, "run", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	records := map[string]stack.Record{}
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var r stack.Record
		if err := json.Unmarshal(data, &r); err != nil {
			t.Fatal(err)
		}
		records[r.Name] = r
		h.seen = append(h.seen, r)
	}
	return records
}

// secrets returns the contents of every secret file of the stack by path:
// the AppRole credentials, tokens, keys and the Redis password.
func (h *harness) secrets(t *testing.T) map[string]string {
	t.Helper()
	var paths []string
	for _, pattern := range []string{"state/services/*/*", "state/consul/*.token", "state/consul/gossip.key",
		"state/vault/*.token", "state/vault/unseal.key", "operator/*.token", "redis/password"} {
		matches, err := filepath.Glob(filepath.Join(h.dir, pattern))
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, matches...)
	}
	secrets := map[string]string{}
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if secret := strings.TrimSpace(string(data)); secret != "" {
			secrets[path] = secret
		}
	}
	return secrets
}

// redisOperator is the read-only Redis user of the native stack, whose
// password is in redis/password.
const redisOperator = "operator"

// redisTLS returns a client config that trusts the stack's root CA and,
// with withCert, presents the operator's client certificate.
func (h *harness) redisTLS(t *testing.T, withCert bool) *tls.Config {
	t.Helper()
	pem, err := os.ReadFile(filepath.Join(h.dir, "state", "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("state/ca.pem contains no certificate")
	}
	cfg := &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS13}
	if withCert {
		cert, err := tls.LoadX509KeyPair(filepath.Join(h.dir, "state", "operator", "client.pem"),
			filepath.Join(h.dir, "state", "operator", "client-key.pem"))
		if err != nil {
			t.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg
}

// redisCommand sends one RESP request over TLS and returns the first reply
// line.
func redisCommand(t *testing.T, addr string, cfg *tls.Config, request string) string {
	t.Helper()
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := conn.Write([]byte(request)); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(line)
}

// redisPlaintext sends one RESP request without TLS and returns the first
// reply line, or the error that ended the attempt.
func redisPlaintext(addr, request string) (string, error) {
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := conn.Write([]byte(request)); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	return strings.TrimSpace(line), err
}

// gatewayClient trusts only the stack's root CA.
func (h *harness) gatewayClient(t *testing.T) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(filepath.Join(h.dir, "state", "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("ca.pem contains no certificate")
	}
	transport := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	return &http.Client{Transport: transport, Timeout: 10 * time.Second}
}

func (h *harness) gatewayURL() string { return "https://127.0.0.1:" + strconv.Itoa(h.ports.Gateway) }

// post sends a JSON body to the gateway and returns the status and body.
func (h *harness) post(t *testing.T, path string, body any) (int, string) {
	t.Helper()
	data, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	response, err := h.gatewayClient(t).Post(h.gatewayURL()+path, "application/json", bytes.NewReader(data))
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer response.Body.Close()
	var out bytes.Buffer
	_, _ = out.ReadFrom(response.Body)
	return response.StatusCode, out.String()
}

func TestUpDownClean(t *testing.T) {
	h := newHarness(t)
	credentials := map[string]string{"email": "operator@example.com", "password": "Lantern-quiet-8f3k2m9q"}

	began := time.Now()
	out := h.mustRun(t, "up")
	t.Logf("cold up took %s", time.Since(began).Round(100*time.Millisecond))
	for _, want := range []string{"mode native", h.gatewayURL(), "curl --cacert"} {
		if !strings.Contains(out, want) {
			t.Errorf("up output lacks %q:\n%s", want, out)
		}
	}
	first := h.records(t)
	for _, name := range append([]string{"consul", "vault", "redis"}, stack.Services...) {
		if r, ok := first[name]; !ok || !r.Alive() {
			t.Errorf("%s has no live process record after up", name)
		}
	}

	t.Run("gateway over HTTPS", func(t *testing.T) {
		response, err := h.gatewayClient(t).Get(h.gatewayURL() + "/healthz")
		if err != nil {
			t.Fatalf("GET /healthz with the stack CA: %v", err)
		}
		response.Body.Close()
		if response.StatusCode != http.StatusOK {
			t.Fatalf("GET /healthz = %d", response.StatusCode)
		}
		if status, body := h.post(t, "/v1/users", credentials); status != http.StatusCreated {
			t.Fatalf("register = %d %s", status, body)
		}
		if status, body := h.post(t, "/v1/sessions", credentials); status != http.StatusCreated {
			t.Fatalf("login = %d %s", status, body)
		}
	})

	t.Run("redis requires TLS, a client certificate and a password", func(t *testing.T) {
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(h.ports.Redis))
		// Plaintext RESP gets no reply: Redis listens only on TLS.
		if reply, err := redisPlaintext(addr, "*1\r\n$4\r\nPING\r\n"); err == nil {
			t.Errorf("plaintext PING: reply %q, want the connection to fail", reply)
		}
		operator := h.redisTLS(t, true)
		if reply := redisCommand(t, addr, operator, "*1\r\n$4\r\nPING\r\n"); !strings.HasPrefix(reply, "-NOAUTH") {
			t.Errorf("PING without a password: reply %q, want -NOAUTH", reply)
		}
		password, err := os.ReadFile(filepath.Join(h.dir, "redis", "password"))
		if err != nil {
			t.Fatal(err)
		}
		secret := strings.TrimSpace(string(password))
		auth := fmt.Sprintf("*3\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n",
			len(redisOperator), redisOperator, len(secret), secret)
		if reply := redisCommand(t, addr, operator, auth); reply != "+OK" {
			t.Errorf("AUTH as the operator with the password file: reply %q, want +OK", reply)
		}
		// Without a client certificate the handshake fails.
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", addr, h.redisTLS(t, false))
		if err == nil {
			_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
			_, err = conn.Write([]byte("*1\r\n$4\r\nPING\r\n"))
			if err == nil {
				_, err = bufio.NewReader(conn).ReadString('\n')
			}
			conn.Close()
		}
		if err == nil {
			t.Error("a TLS client without a certificate got a reply from Redis")
		}
		for _, file := range []string{"password", "redis.conf"} {
			info, err := os.Stat(filepath.Join(h.dir, "redis", file))
			if err != nil {
				t.Fatal(err)
			}
			if info.Mode().Perm() != 0o600 {
				t.Errorf("redis/%s has mode %o, want 600", file, info.Mode().Perm())
			}
		}
	})

	t.Run("no secret in environment or arguments", func(t *testing.T) {
		secrets := h.secrets(t)
		if len(secrets) < 10 {
			t.Fatalf("found only %d secret files; the state layout changed", len(secrets))
		}
		for name, r := range h.records(t) {
			for _, file := range []string{"environ", "cmdline"} {
				data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(r.PID), file))
				if err != nil {
					t.Fatal(err)
				}
				for path, secret := range secrets {
					if bytes.Contains(data, []byte(secret)) {
						t.Errorf("the %s of %s contains the secret of %s", file, name, path)
					}
				}
			}
		}
	})

	t.Run("every listener is on loopback", func(t *testing.T) {
		for name, r := range h.records(t) {
			addrs, err := stack.ListeningAddrs(r.PID)
			if err != nil {
				t.Fatalf("listeners of %s: %v", name, err)
			}
			if len(addrs) == 0 {
				t.Errorf("%s listens on no TCP port", name)
			}
			for _, addr := range addrs {
				if !addr.Addr().IsLoopback() {
					t.Errorf("%s listens on %s, which is not a loopback address", name, addr)
				}
			}
		}
	})

	t.Run("env file works with the CLIs", func(t *testing.T) {
		consulBin := strings.TrimPrefix(h.servers[0], "BULWARK_CONSUL_BIN=")
		vaultBin := strings.TrimPrefix(h.servers[1], "BULWARK_VAULT_BIN=")
		script := `set -e; . "$1"
"$2" catalog services
VAULT_TOKEN="$(cat "$BULWARK_VAULT_TOKEN_FILE")" "$3" secrets list`
		cmd := exec.Command("bash", "-c", script, "bash", filepath.Join(h.dir, "env"), consulBin, vaultBin)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("consul and vault CLIs with the env file: %v\n%s", err, out)
		}
		for _, want := range []string{"gateway", "inventory", "orders", "users", "pki_int/"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("CLI output lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("second up is harmless", func(t *testing.T) {
		began := time.Now()
		out := h.mustRun(t, "up")
		t.Logf("warm up on a running stack took %s", time.Since(began).Round(100*time.Millisecond))
		if !strings.Contains(out, "already up") {
			t.Errorf("second up output lacks \"already up\":\n%s", out)
		}
		for name, r := range h.records(t) {
			if first[name].PID != r.PID {
				t.Errorf("%s was restarted: pid %d, then %d", name, first[name].PID, r.PID)
			}
		}
		if out := h.mustRun(t, "status"); strings.Count(out, " ready ") != 7 {
			t.Errorf("status does not list 7 ready components:\n%s", out)
		}
	})

	t.Run("up starts only what is missing", func(t *testing.T) {
		before := h.records(t)
		orders := before["orders"]
		if err := syscall.Kill(orders.PID, syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for orders.Alive() && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if orders.Alive() {
			t.Fatal("orders still runs 30 s after SIGTERM")
		}
		out := h.mustRun(t, "up")
		if !strings.Contains(out, "orders: started") {
			t.Errorf("up output does not say it started orders:\n%s", out)
		}
		after := h.records(t)
		for name, r := range after {
			switch {
			case name == "orders" && r.PID == orders.PID:
				t.Error("orders has its old pid after up")
			case name != "orders" && r.PID != before[name].PID:
				t.Errorf("%s was restarted: pid %d, then %d", name, before[name].PID, r.PID)
			}
		}
	})

	t.Run("down leaves nothing running", func(t *testing.T) {
		records := h.records(t)
		ports := map[int]string{}
		for _, p := range h.ports.All() {
			ports[p.Port] = p.Name
		}
		for name, r := range records {
			listening, err := stack.ListeningPorts(r.PID)
			if err != nil {
				t.Fatalf("ports of %s: %v", name, err)
			}
			for _, port := range listening {
				ports[port] = name
			}
		}
		h.mustRun(t, "down")
		for name, r := range records {
			if r.Alive() {
				t.Errorf("%s (pid %d) still runs after down", name, r.PID)
			}
		}
		for port, owner := range ports {
			if !portFree(port) {
				t.Errorf("port %d of %s still listens after down", port, owner)
			}
		}
		if _, err := h.run("status"); err == nil {
			t.Error("status exits 0 on a stopped stack")
		}
	})

	t.Run("up after down keeps data", func(t *testing.T) {
		began := time.Now()
		h.mustRun(t, "up")
		t.Logf("warm up after down took %s", time.Since(began).Round(100*time.Millisecond))
		if status, body := h.post(t, "/v1/sessions", credentials); status != http.StatusCreated {
			t.Fatalf("login of the user registered before down = %d %s", status, body)
		}
		h.mustRun(t, "down")
	})

	t.Run("clean removes the state", func(t *testing.T) {
		out := h.mustRun(t, "clean")
		if !strings.Contains(out, "removing") {
			t.Errorf("clean output does not say what it removes:\n%s", out)
		}
		if _, err := os.Stat(h.dir); !os.IsNotExist(err) {
			t.Errorf("state directory still exists after clean: %v", err)
		}
	})
}

func TestUpRejectsTakenPort(t *testing.T) {
	h := newHarness(t)
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(h.ports.ConsulHTTPS)))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	out, err := h.run("up")
	if err == nil {
		t.Fatalf("up succeeded with the Consul port taken:\n%s", out)
	}
	for _, want := range []string{strconv.Itoa(h.ports.ConsulHTTPS), "pid " + strconv.Itoa(os.Getpid())} {
		if !strings.Contains(out, want) {
			t.Errorf("up output lacks %q:\n%s", want, out)
		}
	}
}
