package verify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/internal/stack"
	"github.com/bulwark-go/bulwark/internal/verify"
)

// upTimeout bounds the start of the stack, including the build of the four
// services. It does not cover a build of Consul or Vault: the test requires
// them built first (make servers).
const upTimeout = 6 * time.Minute

// runTimeout bounds one run of every check.
const runTimeout = 2 * time.Minute

// nativeStack is a running native stack and the verify settings for it.
type nativeStack struct {
	root string
	dir  string
	cfg  verify.Config
}

// startStack starts a native stack in a temporary directory and stops it
// when the test ends.
func startStack(t *testing.T) *nativeStack {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: starts Consul, Vault, Redis and the services")
	}
	root, err := stack.FindRepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "bulwark")
	cfg := stack.Config{
		RepoRoot:  root,
		Dir:       dir,
		PortBase:  freePortBase(t),
		ConsulBin: serverBinary(t, "consul", "BULWARK_CONSUL_BIN"),
		VaultBin:  serverBinary(t, "vault", "BULWARK_VAULT_BIN"),
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := stack.Down(ctx, cfg); err != nil {
			t.Errorf("stop the stack: %v", err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), upTimeout)
	defer cancel()
	if err := stack.Up(ctx, cfg); err != nil {
		t.Fatalf("start the stack: %v", err)
	}
	env, err := verify.ReadEnv(filepath.Join(dir, "env"))
	if err != nil {
		t.Fatal(err)
	}
	return &nativeStack{root: root, dir: dir, cfg: verify.Config{
		Env:       env,
		AuthzFile: filepath.Join(root, "infra", "authz.yaml"),
	}}
}

// run runs the checks of groups (all when empty) and logs the report.
func (s *nativeStack) run(t *testing.T, groups ...string) []verify.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cfg := s.cfg
	cfg.Groups = groups
	results, err := verify.Run(ctx, cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	var report strings.Builder
	_ = verify.WriteText(&report, results)
	t.Logf("report:\n%s", report.String())
	return results
}

// serverBinary returns the server binary named by envVar, else the one
// that tools/servers/ensure.sh has built, and fails when neither exists.
func serverBinary(t *testing.T, name, envVar string) string {
	t.Helper()
	if path := os.Getenv(envVar); path != "" {
		return path
	}
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
		t.Fatalf("no %s binary at %s: run make servers or set %s", name, path, envVar)
	}
	return path
}

// freePortBase returns a base whose ports are all free on 127.0.0.1 now.
func freePortBase(t *testing.T) int {
	t.Helper()
	for range 50 {
		base := 20000 + rand.IntN(20000)
		plan, err := stack.PlanPorts(base)
		if err != nil {
			t.Fatal(err)
		}
		free := true
		for _, p := range plan.All() {
			l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p.Port)))
			if err != nil {
				free = false
				break
			}
			_ = l.Close()
		}
		if free {
			return base
		}
	}
	t.Fatal("no free range of loopback ports found")
	return 0
}

// secretsOf returns every credential in the stack's state and operator
// directories that the report must never contain.
func secretsOf(t *testing.T, s *nativeStack) []string {
	t.Helper()
	var secrets []string
	files := []string{s.cfg.Env.ConsulTokenFile, s.cfg.Env.VaultTokenFile}
	services, _ := filepath.Glob(filepath.Join(s.cfg.Env.StateDir, "services", "*"))
	for _, dir := range services {
		files = append(files, filepath.Join(dir, "role-id"), filepath.Join(dir, "secret-id"))
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if v := strings.TrimSpace(string(data)); v != "" {
			secrets = append(secrets, v)
		}
	}
	return secrets
}

// stackRoots returns the stack's CA bundle.
func stackRoots(t *testing.T, s *nativeStack) *x509.CertPool {
	t.Helper()
	data, err := os.ReadFile(s.cfg.Env.ConsulCAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		t.Fatal("the CA file contains no certificate")
	}
	return pool
}

// operatorTLS returns the client config of the operator certificate, which
// Consul accepts.
func operatorTLS(t *testing.T, s *nativeStack) *tls.Config {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(s.cfg.Env.ConsulCertFile, s.cfg.Env.ConsulKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{RootCAs: stackRoots(t, s), Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
}
