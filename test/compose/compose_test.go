//go:build compose

package compose_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// testSubnetPrefix is the internal network of the test stack, apart from
// the default 172.30.53 of make up. BULWARK_TEST_SUBNET_PREFIX overrides it.
const testSubnetPrefix = "172.30.154"

// stack is one compose stack started by the test.
type stack struct {
	repo    string
	dir     string // BULWARK_STACK_DIR
	project string
	port    int
	subnet  string
}

func TestComposeStackRegisterAndLogin(t *testing.T) {
	s := newStack(t)
	t.Cleanup(func() { s.clean(t) })

	s.run(t, 20*time.Minute, "up")

	mode, err := os.ReadFile(filepath.Join(s.dir, "mode"))
	if err != nil || strings.TrimSpace(string(mode)) != "compose" {
		t.Errorf("mode file = %q (%v), want compose", mode, err)
	}
	env, err := os.ReadFile(filepath.Join(s.dir, "env"))
	if err != nil {
		t.Errorf("read the env file: %v", err)
	}
	wantURL := fmt.Sprintf("export BULWARK_GATEWAY_URL=https://127.0.0.1:%d\n", s.port)
	if !strings.Contains(string(env), wantURL) {
		t.Errorf("env file has no line %q:\n%s", strings.TrimSpace(wantURL), env)
	}

	client := s.gatewayClient(t)
	base := fmt.Sprintf("https://localhost:%d", s.port)
	credentials := map[string]string{
		"email":    fmt.Sprintf("smoke-%d@example.com", time.Now().UnixNano()),
		"password": "correct horse battery staple",
	}

	status, body := postJSON(t, client, base+"/v1/users", credentials)
	if status != http.StatusCreated {
		t.Fatalf("register: status %d, want 201; body %s", status, body)
	}

	status, body = postJSON(t, client, base+"/v1/sessions", credentials)
	if status != http.StatusCreated {
		t.Fatalf("login: status %d, want 201; body %s", status, body)
	}
	var session struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(body, &session); err != nil {
		t.Fatalf("login body %s: %v", body, err)
	}
	if len(session.Token) != 43 {
		t.Fatalf("login token has %d characters, want 43", len(session.Token))
	}

	// The token must work on an authenticated route, which the gateway checks
	// with the users service over mTLS.
	req, err := http.NewRequest(http.MethodGet, base+"/v1/orders", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+session.Token)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("list orders: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("list orders with the session token: status %d, want 200", resp.StatusCode)
	}
}

func newStack(t *testing.T) *stack {
	t.Helper()
	out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput()
	if err != nil {
		t.Fatalf("the compose test needs a Docker engine; docker info failed: %v\n%s", err, out)
	}
	repo, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	subnet := os.Getenv("BULWARK_TEST_SUBNET_PREFIX")
	if subnet == "" {
		subnet = testSubnetPrefix
	}
	return &stack{
		repo:    repo,
		dir:     t.TempDir(),
		project: fmt.Sprintf("bulwarktest%d", os.Getpid()),
		port:    freePort(t),
		subnet:  subnet,
	}
}

// run runs tools/stack/compose.sh with the test stack's settings and fails
// the test when it fails.
func (s *stack) run(t *testing.T, timeout time.Duration, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(s.repo, "tools", "stack", "compose.sh"), args...)
	cmd.Dir = s.repo
	cmd.Env = append(os.Environ(),
		"BULWARK_STACK_DIR="+s.dir,
		"BULWARK_COMPOSE_PROJECT="+s.project,
		"BULWARK_SUBNET_PREFIX="+s.subnet,
		"BULWARK_GATEWAY_PORT="+strconv.Itoa(s.port),
	)
	var output bytes.Buffer
	cmd.Stdout = &output
	cmd.Stderr = &output
	started := time.Now()
	err := cmd.Run()
	t.Logf("compose.sh %s took %s", strings.Join(args, " "), time.Since(started).Round(time.Second))
	if err != nil {
		t.Fatalf("compose.sh %s: %v\n%s", strings.Join(args, " "), err, output.String())
	}
}

// clean removes the stack and checks that no container, network or volume
// of its project is left, whether or not the test passed.
func (s *stack) clean(t *testing.T) {
	t.Helper()
	s.run(t, 5*time.Minute, "clean")
	for _, kind := range []string{"container", "network", "volume"} {
		args := []string{kind, "ls", "-q", "--filter", "label=com.docker.compose.project=" + s.project}
		if kind == "container" {
			args = append(args, "--all")
		}
		out, err := exec.Command("docker", args...).CombinedOutput()
		if err != nil {
			t.Errorf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
			continue
		}
		if left := strings.Fields(string(out)); len(left) > 0 {
			t.Errorf("clean left %d %s(s) of project %s: %v", len(left), kind, s.project, left)
		}
	}
}

// gatewayClient returns an HTTPS client that trusts only the stack's CA.
func (s *stack) gatewayClient(t *testing.T) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(filepath.Join(s.dir, "compose", "state", "ca.pem"))
	if err != nil {
		t.Fatalf("read the stack CA: %v", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		t.Fatal("the stack CA file contains no certificate")
	}
	return &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}},
	}
}

func postJSON(t *testing.T, client *http.Client, url string, value any) (int, []byte) {
	t.Helper()
	body, err := json.Marshal(value)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	if _, err := out.ReadFrom(resp.Body); err != nil {
		t.Fatalf("POST %s: read body: %v", url, err)
	}
	return resp.StatusCode, out.Bytes()
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Close()
	return listener.Addr().(*net.TCPAddr).Port
}
