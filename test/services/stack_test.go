package services_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/internal/testenv"
)

// serviceNames are the four binaries, in start order.
var serviceNames = []string{"inventory", "users", "orders", "gateway"}

// Bounds of process start and stop. A service logs in to Vault, obtains
// a certificate and registers in Consul before it is ready.
const (
	readyTimeout = 60 * time.Second
	stopTimeout  = 30 * time.Second
)

// repoRoot returns the repository root, two levels above this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// buildBinaries builds service binaries (all four when names is empty) into
// a temporary directory, static as the run contract requires.
func buildBinaries(t *testing.T, names ...string) map[string]string {
	t.Helper()
	if len(names) == 0 {
		names = serviceNames
	}
	dir := t.TempDir()
	root := repoRoot(t)
	args := []string{"build", "-o", dir + string(os.PathSeparator)}
	for _, name := range names {
		args = append(args, "./services/"+name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build of the services failed: %v\n%s", err, out)
	}
	bins := map[string]string{}
	for _, name := range names {
		bins[name] = filepath.Join(dir, name)
	}
	return bins
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// service is one running service process.
type service struct {
	name    string
	bin     string
	env     []string
	admin   string // host:port of the admin listener
	logPath string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan error
}

// stack is the four services running against one testenv.
type stack struct {
	env         *testenv.Env
	services    map[string]*service
	gatewayURL  string
	gatewayPort int
	// gatewayLimits is the gateway's copy of infra/ratelimit/gateway.yaml,
	// which the reload test rewrites.
	gatewayLimits string
}

// startStack starts every service with the run contract's variables and
// waits until each reports ready.
func startStack(t *testing.T, env *testenv.Env, bins map[string]string) *stack {
	t.Helper()
	root := repoRoot(t)
	logDir := t.TempDir()
	st := &stack{env: env, services: map[string]*service{}}
	st.gatewayPort = freePort(t)
	st.gatewayURL = "https://127.0.0.1:" + strconv.Itoa(st.gatewayPort)
	limits, err := os.ReadFile(filepath.Join(root, "infra", "ratelimit", "gateway.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	st.gatewayLimits = filepath.Join(t.TempDir(), "gateway.yaml")
	if err := os.WriteFile(st.gatewayLimits, limits, 0o600); err != nil {
		t.Fatal(err)
	}

	for _, name := range serviceNames {
		admin := "127.0.0.1:" + strconv.Itoa(freePort(t))
		vars := serviceEnv(env, root, name, admin)
		switch name {
		case "gateway":
			vars = append(vars,
				"BULWARK_GATEWAY_LISTEN=127.0.0.1:"+strconv.Itoa(st.gatewayPort),
				"BULWARK_GATEWAY_TLS_CERT_FILE="+env.Layout.GatewayCert,
				"BULWARK_GATEWAY_TLS_KEY_FILE="+env.Layout.GatewayKey,
				// The tests stand for clients behind a proxy on loopback
				// and send each client's address in X-Forwarded-For.
				"BULWARK_RATELIMIT_GATEWAY_TRUSTED_PROXIES=127.0.0.1/32",
				"BULWARK_RATELIMIT_FILE="+st.gatewayLimits,
			)
		default:
			vars = append(vars, "BULWARK_DATA_DIR="+filepath.Join(env.Dir, "data", name))
		}
		s := &service{name: name, bin: bins[name], env: vars, admin: admin,
			logPath: filepath.Join(logDir, name+".log")}
		st.services[name] = s
		s.start(t)
		t.Cleanup(func() { s.stop(t) })
	}
	for _, name := range serviceNames {
		st.services[name].waitReady(t)
	}
	return st
}

// serviceEnv returns the run contract's variables that every service needs.
func serviceEnv(env *testenv.Env, root, name, admin string) []string {
	role := env.AppRoles[name]
	vars := []string{
		"BULWARK_VAULT_ADDR=" + env.VaultAddr,
		"BULWARK_CONSUL_ADDR=" + env.ConsulAddr,
		"BULWARK_CA_FILE=" + env.CAFile,
		"BULWARK_ROLE_ID_FILE=" + role.RoleIDFile,
		"BULWARK_SECRET_ID_FILE=" + role.SecretIDFile,
		"BULWARK_AUTHZ_FILE=" + filepath.Join(root, "infra", "authz.yaml"),
		"BULWARK_RATELIMIT_FILE=" + filepath.Join(root, "infra", "ratelimit", name+".yaml"),
		"BULWARK_LISTEN=127.0.0.1:0",
		"BULWARK_ADMIN_LISTEN=" + admin,
		"BULWARK_LOG_LEVEL=debug",
	}
	if env.RedisAddr != "" {
		vars = append(vars,
			"BULWARK_RATELIMIT_STORE_BACKEND=redis",
			"BULWARK_RATELIMIT_REDIS_ADDR="+env.RedisAddr,
			// Each service logs in as its own ACL user, which reaches only
			// keys under bulwark:ratelimit:<name>:.
			"BULWARK_RATELIMIT_REDIS_USERNAME="+env.RedisUsers[name].Username,
			"BULWARK_RATELIMIT_REDIS_PASSWORD_FILE="+env.RedisUsers[name].PasswordFile,
			// The harness's Redis has only a TLS port and demands a client
			// certificate: each service presents its Vault certificate.
			"BULWARK_RATELIMIT_REDIS_TLS=true",
		)
	}
	return vars
}

// start runs the binary with only the service's variables in its
// environment, appending its output to the log file.
func (s *service) start(t *testing.T) {
	t.Helper()
	log, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(s.bin)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, s.env...)
	cmd.Stdout, cmd.Stderr = log, log
	if runtime.GOOS == "linux" {
		// A service must not outlive a test binary that dies.
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	}
	if err := cmd.Start(); err != nil {
		log.Close()
		t.Fatalf("start %s: %v", s.name, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait(); log.Close() }()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
}

// waitReady polls /readyz until it returns 200, and fails t when the
// process exits or readyTimeout passes.
func (s *service) waitReady(t *testing.T) {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(readyTimeout)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		done := s.done
		s.mu.Unlock()
		select {
		case err := <-done:
			done <- err
			t.Fatalf("%s exited before it was ready: %v\n%s", s.name, err, s.tail(40))
		default:
		}
		rsp, err := client.Get("http://" + s.admin + "/readyz")
		if err == nil {
			rsp.Body.Close()
			if rsp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s not ready after %v\n%s", s.name, readyTimeout, s.tail(40))
}

// terminate sends SIGTERM and returns the exit error, or fails t when the
// process does not exit within stopTimeout.
func (s *service) terminate(t *testing.T) error {
	t.Helper()
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.mu.Unlock()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("signal %s: %w", s.name, err)
	}
	select {
	case err := <-done:
		done <- err
		return err
	case <-time.After(stopTimeout):
		_ = cmd.Process.Kill()
		t.Fatalf("%s did not exit within %v of SIGTERM\n%s", s.name, stopTimeout, s.tail(40))
		return nil
	}
}

// stop ends the process if it still runs; it is the cleanup of start.
func (s *service) stop(t *testing.T) {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.mu.Unlock()
	select {
	case err := <-done:
		done <- err
		return
	default:
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(stopTimeout):
		_ = cmd.Process.Kill()
		<-done
		t.Errorf("%s did not exit within %v of SIGTERM", s.name, stopTimeout)
	}
	if t.Failed() {
		t.Logf("last lines of %s:\n%s", s.name, s.tail(30))
	}
}

// logText returns the whole log of the service.
func (s *service) logText(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(s.logPath)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// tail returns the last n lines of the log.
func (s *service) tail(n int) string {
	data, err := os.ReadFile(s.logPath)
	if err != nil {
		return err.Error()
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
