package composetc

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	tccompose "github.com/testcontainers/testcontainers-go/modules/compose"
	"github.com/testcontainers/testcontainers-go/wait"
)

const (
	// defaultSubnetPrefix is the stack's internal /24, apart from make up's
	// 172.30.53 and the 172.30.154 of test/compose.
	defaultSubnetPrefix = "172.30.155"

	// teardownMargin is how long before go test's -timeout the timer removes
	// the stack. It exceeds teardownTimeout so the removal can finish.
	teardownMargin  = 3 * time.Minute
	teardownTimeout = 2 * time.Minute

	// healthTimeout bounds the wait for each container's health check,
	// counted from the end of compose up.
	healthTimeout = 5 * time.Minute
)

// services are the long-running containers with a health check. The
// bootstrap-certs and bootstrap containers exit when done, and compose up
// starts nothing that depends on them until they exit 0.
var services = []string{"consul", "vault", "redis", "users", "orders", "inventory", "gateway"}

// stack is one compose stack started by the test.
type stack struct {
	repo    string
	dir     string // like .bulwark: env file, mode file and compose/
	project string
	subnet  string
	port    int

	compose *tccompose.DockerCompose

	// gatewayURL is the published gateway port as testcontainers reports it.
	gatewayURL string
	client     *http.Client

	// bulwark is the path of the cmd/bulwark binary, once built.
	bulwark string

	teardownOnce sync.Once
	teardownErr  error
}

// composeDir returns the directory of state and data that the compose file
// mounts (BULWARK_COMPOSE_DIR).
func (s *stack) composeDir() string { return filepath.Join(s.dir, "compose") }

func (s *stack) stateDir() string { return filepath.Join(s.composeDir(), "state") }

// startStack builds the images, starts the stack and waits until it is
// healthy. It removes the stack in t.Cleanup, and with a timer before the
// test binary's deadline. The returned context ends at that timer.
func startStack(t *testing.T) (*stack, context.Context) {
	t.Helper()
	requireDocker(t)

	ctx, stopAt := testContext(t)
	repo, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	subnet := os.Getenv("BULWARK_TEST_SUBNET_PREFIX")
	if subnet == "" {
		subnet = defaultSubnetPrefix
	}
	// Not t.TempDir: the deadline timer removes this directory too, and
	// go test's timeout panic would leave t.TempDir's parent behind.
	dir, err := os.MkdirTemp("", "bulwark-composetc-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	s := &stack{
		repo:    repo,
		dir:     dir,
		project: fmt.Sprintf("bulwarktc%d", os.Getpid()),
		subnet:  subnet,
		port:    freePort(t),
	}

	s.buildImages(ctx, t)
	uid, gid := containerUser()
	if err := s.prepareState(ctx); err != nil {
		t.Fatal(err)
	}

	s.compose, err = tccompose.NewDockerComposeWith(
		tccompose.WithStackFiles(filepath.Join(repo, "docker-compose.yml")),
		tccompose.StackIdentifier(s.project),
	)
	if err != nil {
		t.Fatalf("load docker-compose.yml: %v", err)
	}
	// Cleanups are registered before compose up, so that a failed up is
	// removed too.
	t.Cleanup(func() {
		if err := s.teardown(); err != nil {
			t.Errorf("remove the stack: %v", err)
		}
	})
	timer := time.AfterFunc(time.Until(stopAt), func() {
		fmt.Fprintf(os.Stderr, "composetc: removing project %s before go test's -timeout\n", s.project)
		if err := s.teardown(); err != nil {
			fmt.Fprintf(os.Stderr, "composetc: remove the stack: %v\n", err)
		}
	})
	t.Cleanup(func() { timer.Stop() })

	s.up(ctx, t, uid, gid)
	s.waitForGateway(ctx, t)
	if err := s.writeEnv(ctx); err != nil {
		t.Fatal(err)
	}
	return s, ctx
}

// requireDocker skips the test when no Docker engine responds.
func requireDocker(t *testing.T) {
	t.Helper()
	out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput()
	if err != nil {
		t.Skipf("skipped: the compose suite needs a Docker engine, and docker info failed: %v: %s",
			err, bytes.TrimSpace(out))
	}
}

// testContext returns a context that ends teardownMargin before go test's
// -timeout, and that moment.
func testContext(t *testing.T) (context.Context, time.Time) {
	t.Helper()
	deadline, ok := t.Deadline()
	if !ok {
		deadline = time.Now().Add(30 * time.Minute)
	}
	stopAt := deadline.Add(-teardownMargin)
	if time.Until(stopAt) < 5*time.Minute {
		t.Fatalf("go test -timeout leaves %v; the suite needs at least %v, for example -timeout 30m",
			time.Until(deadline).Round(time.Second), teardownMargin+5*time.Minute)
	}
	ctx, cancel := context.WithDeadline(context.Background(), stopAt)
	t.Cleanup(cancel)
	return ctx, stopAt
}

// buildImages runs tools/stack/compose.sh images, which builds the
// bulwark-* images from this checkout without pulling anything.
// BULWARK_TEST_IMAGES=keep uses the images as they are.
func (s *stack) buildImages(ctx context.Context, t *testing.T) {
	t.Helper()
	if os.Getenv("BULWARK_TEST_IMAGES") == "keep" {
		t.Logf("BULWARK_TEST_IMAGES=keep: using the bulwark-*:%s images as they are", imageTag())
		return
	}
	cmd := exec.CommandContext(ctx, filepath.Join(s.repo, "tools", "stack", "compose.sh"), "images")
	cmd.Dir = s.repo
	cmd.Env = append(os.Environ(), "BULWARK_IMAGE_TAG="+imageTag())
	var output bytes.Buffer
	cmd.Stdout = &output
	cmd.Stderr = &output
	started := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("tools/stack/compose.sh images failed: %v\n%s", err, output.String())
	}
	t.Logf("compose.sh images took %v", time.Since(started).Round(time.Second))
}

// up starts docker-compose.yml with the stack's settings and waits for
// every health check.
func (s *stack) up(ctx context.Context, t *testing.T, uid, gid int) {
	t.Helper()
	s.compose.WithEnv(s.composeEnv(uid, gid))
	for _, name := range services {
		s.compose.WaitForService(name, wait.ForHealthCheck().WithStartupTimeout(healthTimeout))
	}

	started := time.Now()
	err := s.compose.Up(ctx, tccompose.RemoveOrphans(true))
	if err != nil {
		t.Fatalf("start project %s (subnet %s.0/24; set BULWARK_TEST_SUBNET_PREFIX if it overlaps a network): %v\n%s",
			s.project, s.subnet, err, s.logs(t))
	}
	t.Logf("compose up and health checks took %v", time.Since(started).Round(time.Second))
}

// imageTag returns the tag of the bulwark-* images: BULWARK_IMAGE_TAG, as
// compose.sh reads it, or local.
func imageTag() string {
	if tag := os.Getenv("BULWARK_IMAGE_TAG"); tag != "" {
		return tag
	}
	return "local"
}

// composeEnv returns the variables that docker-compose.yml reads.
func (s *stack) composeEnv(uid, gid int) map[string]string {
	return map[string]string{
		"BULWARK_COMPOSE_DIR":   s.composeDir(),
		"BULWARK_UID":           strconv.Itoa(uid),
		"BULWARK_GID":           strconv.Itoa(gid),
		"BULWARK_SUBNET_PREFIX": s.subnet,
		"BULWARK_GATEWAY_PORT":  strconv.Itoa(s.port),
		"BULWARK_IMAGE_TAG":     imageTag(),
	}
}

// waitForGateway waits until the gateway answers /healthz on its published
// port over TLS verified against the stack's CA, and sets the client.
func (s *stack) waitForGateway(ctx context.Context, t *testing.T) {
	t.Helper()
	roots, err := s.caPool()
	if err != nil {
		t.Fatal(err)
	}
	gateway, err := s.compose.ServiceContainer(ctx, "gateway")
	if err != nil {
		t.Fatalf("find the gateway container: %v", err)
	}
	host, err := gateway.Host(ctx)
	if err != nil {
		t.Fatal(err)
	}
	port, err := gateway.MappedPort(ctx, "8443/tcp")
	if err != nil {
		t.Fatalf("published gateway port: %v", err)
	}
	if host != "127.0.0.1" {
		t.Fatalf("testcontainers reports Docker host %q, want 127.0.0.1 where the gateway is published", host)
	}
	if int(port.Num()) != s.port {
		t.Fatalf("gateway published on port %d, want BULWARK_GATEWAY_PORT %d", port.Num(), s.port)
	}
	s.gatewayURL = "https://" + net.JoinHostPort(host, port.Port())
	s.client = &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}},
	}

	// testcontainers' wait.ForHTTP drops the error of each attempt, so this
	// loop polls itself and reports the last error.
	if err := s.waitHealthz(ctx); err != nil {
		t.Fatal(err)
	}
}

// waitHealthz polls the gateway's /healthz for up to a minute and returns
// the last error when it never answers 200.
func (s *stack) waitHealthz(ctx context.Context) error {
	deadline := time.Now().Add(time.Minute)
	for {
		err := s.getHealthz(ctx)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("gateway %s/healthz is not ready after a minute: %w", s.gatewayURL, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func (s *stack) getHealthz(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.gatewayURL+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d, want 200", resp.StatusCode)
	}
	return nil
}

// caPool returns the stack's root CA, which bootstrap-certs wrote.
func (s *stack) caPool() (*x509.CertPool, error) {
	path := filepath.Join(s.stateDir(), "ca.pem")
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the stack CA: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("the stack CA file %s contains no PEM certificate", path)
	}
	return roots, nil
}

// logs returns the last lines of every container's log, for a failure
// message.
func (s *stack) logs(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("docker", "ps", "--all", "--quiet",
		"--filter", "label=com.docker.compose.project="+s.project).Output()
	if err != nil {
		return fmt.Sprintf("(docker ps failed: %v)", err)
	}
	var b strings.Builder
	for _, id := range strings.Fields(string(out)) {
		name, _ := exec.Command("docker", "inspect", "--format",
			`{{index .Config.Labels "com.docker.compose.service"}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}`, id).Output()
		tail, _ := exec.Command("docker", "logs", "--tail", "20", id).CombinedOutput()
		fmt.Fprintf(&b, "--- %s\n%s\n", bytes.TrimSpace(name), tail)
	}
	return b.String()
}

// teardown removes the stack and its state directory and returns an error
// when compose down failed or anything of the project is left. It runs
// once, from t.Cleanup or from the deadline timer, whichever comes first.
func (s *stack) teardown() error {
	s.teardownOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), teardownTimeout)
		defer cancel()
		started := time.Now()

		var errs []error
		err := s.compose.Down(ctx, tccompose.RemoveOrphans(true), tccompose.RemoveVolumes(true))
		if err != nil {
			errs = append(errs, fmt.Errorf("compose down: %w", err))
		}
		if err := s.compose.Close(); err != nil {
			errs = append(errs, err)
		}

		left, err := s.leftovers(ctx)
		if err != nil {
			errs = append(errs, err)
		}
		if len(left) > 0 {
			// Remove by label what compose down missed, and report it.
			s.forceRemove(ctx)
			errs = append(errs, fmt.Errorf("compose down left %s", strings.Join(left, ", ")))
			if left, _ := s.leftovers(ctx); len(left) > 0 {
				errs = append(errs, fmt.Errorf("still left after docker rm: %s", strings.Join(left, ", ")))
			}
		}
		if err := os.RemoveAll(s.dir); err != nil {
			errs = append(errs, fmt.Errorf("remove the state directory: %w", err))
		}
		fmt.Fprintf(os.Stderr, "composetc: removed project %s in %v\n", s.project, time.Since(started).Round(time.Second))
		s.teardownErr = errors.Join(errs...)
	})
	return s.teardownErr
}

// leftovers lists the containers, networks and volumes that carry the
// project's label, as "kind id" strings.
func (s *stack) leftovers(ctx context.Context) ([]string, error) {
	var left []string
	for _, kind := range []string{"container", "network", "volume"} {
		ids, err := s.listByLabel(ctx, kind)
		if err != nil {
			return left, err
		}
		for _, id := range ids {
			left = append(left, kind+" "+id)
		}
	}
	return left, nil
}

func (s *stack) listByLabel(ctx context.Context, kind string) ([]string, error) {
	args := []string{kind, "ls", "--quiet", "--filter", "label=com.docker.compose.project=" + s.project}
	if kind == "container" {
		args = append(args, "--all")
	}
	out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("docker %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return strings.Fields(string(out)), nil
}

// forceRemove removes every container, network and volume of the project,
// ignoring errors; leftovers reports what remains.
func (s *stack) forceRemove(ctx context.Context) {
	removals := []struct{ kind, command string }{
		{"container", "rm --force --volumes"},
		{"network", "rm"},
		{"volume", "rm --force"},
	}
	for _, r := range removals {
		ids, err := s.listByLabel(ctx, r.kind)
		if err != nil || len(ids) == 0 {
			continue
		}
		args := append(append([]string{r.kind}, strings.Fields(r.command)...), ids...)
		_ = exec.CommandContext(ctx, "docker", args...).Run()
	}
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
