package boot_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/platform/security/pki/pkitest"
)

// tokenValue is the value of VAULT_TOKEN in the rejected run; no output may
// contain it.
const tokenValue = "hvs.binary-test-token-value"

// countingListener accepts TCP connections on loopback and closes each at
// once. It takes the place of Vault, Consul and Redis, so that a test can
// see whether the service contacted any of them.
type countingListener struct {
	ln       net.Listener
	accepted atomic.Int64
}

func newCountingListener(t *testing.T) *countingListener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &countingListener{ln: ln}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			c.accepted.Add(1)
			conn.Close()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return c
}

// TestProductionBinaryRejectsUnsafeConfig builds the users service and runs
// it under BULWARK_ENV=production. With a Vault token in the environment
// and a Redis store without on_error it must exit 1 with both named,
// without the token's value, and without opening a connection or creating
// its data directory. The same configuration without those two faults must
// get past the check and contact the stand-in for Vault, which shows that
// the connection count can see a contact.
func TestProductionBinaryRejectsUnsafeConfig(t *testing.T) {
	bin := buildService(t, "users")
	dir := t.TempDir()
	servers := newCountingListener(t)
	address := servers.ln.Addr().String()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	dataDir := filepath.Join(dir, "data")
	safe := []string{
		"BULWARK_ENV=production",
		"BULWARK_VAULT_ADDR=https://" + address,
		"BULWARK_CONSUL_ADDR=" + address,
		"BULWARK_CA_FILE=" + pkitest.NewCA(t).WriteRoot(t, dir),
		"BULWARK_ROLE_ID_FILE=" + write("role-id", "role"),
		"BULWARK_SECRET_ID_FILE=" + write("secret-id", "secret"),
		"BULWARK_AUTHZ_FILE=" + filepath.Join(repoRoot, "infra", "authz.yaml"),
		"BULWARK_DATA_DIR=" + dataDir,
		"BULWARK_LISTEN=127.0.0.1:0",
		"BULWARK_ADMIN_LISTEN=127.0.0.1:0",
		"BULWARK_RATELIMIT_STORE_BACKEND=redis",
		"BULWARK_RATELIMIT_REDIS_ADDR=" + address,
		"BULWARK_RATELIMIT_REDIS_PASSWORD_FILE=" + write("redis-password", "password"),
	}

	t.Run("unsafe", func(t *testing.T) {
		env := slices.Concat([]string{"VAULT_TOKEN=" + tokenValue}, safe)
		code, stderr := runService(t, bin, env)
		if code != 1 {
			t.Errorf("exit status = %d, want 1; stderr:\n%s", code, stderr)
		}
		for _, want := range []string{"nothing was started", "VAULT_TOKEN:", "BULWARK_RATELIMIT_REDIS_ON_ERROR:"} {
			if !strings.Contains(stderr, want) {
				t.Errorf("stderr does not contain %q:\n%s", want, stderr)
			}
		}
		if strings.Contains(stderr, tokenValue) {
			t.Errorf("stderr contains the token's value:\n%s", stderr)
		}
		if n := servers.accepted.Load(); n != 0 {
			t.Errorf("the service opened %d connections before it exited, want 0", n)
		}
		if _, err := os.Stat(dataDir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the data directory exists after the rejected start (stat: %v)", err)
		}
	})

	t.Run("unknown profile", func(t *testing.T) {
		env := slices.Concat(safe, []string{"BULWARK_ENV=staging"})
		code, stderr := runService(t, bin, env)
		if code != 1 {
			t.Errorf("exit status = %d, want 1; stderr:\n%s", code, stderr)
		}
		if !strings.Contains(stderr, `BULWARK_ENV: \"staging\" is not a profile`) {
			t.Errorf("stderr does not name the value of BULWARK_ENV:\n%s", stderr)
		}
		if n := servers.accepted.Load(); n != 0 {
			t.Errorf("the service opened %d connections before it exited, want 0", n)
		}
	})

	t.Run("safe", func(t *testing.T) {
		env := slices.Concat(safe, []string{"BULWARK_RATELIMIT_REDIS_ON_ERROR=closed"})
		code, stderr := runService(t, bin, env)
		if code != 1 {
			t.Errorf("exit status = %d against a stand-in that closes every connection, want 1; stderr:\n%s",
				code, stderr)
		}
		if !strings.Contains(stderr, "service could not be built") {
			t.Errorf("the service did not report the failed Vault login; stderr:\n%s", stderr)
		}
		if !strings.Contains(stderr, "production profile removed the handlers of http.DefaultServeMux") {
			t.Errorf("the service did not log the cleared http.DefaultServeMux; stderr:\n%s", stderr)
		}
		if !strings.Contains(stderr, `"production":true`) {
			t.Errorf("the service did not start under the production profile; stderr:\n%s", stderr)
		}
		if servers.accepted.Load() == 0 {
			t.Errorf("the service exited without contacting Vault; stderr:\n%s", stderr)
		}
	})
}

// repoRoot is the repository root, relative to this package.
var repoRoot = filepath.Join("..", "..", "..")

// buildService builds ./services/<name> into a temporary directory.
func buildService(t *testing.T, name string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), name)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./services/"+name)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./services/%s: %v\n%s", name, err, out)
	}
	return bin
}

// runService runs the binary with exactly env and returns its exit status
// and standard error.
func runService(t *testing.T, bin string, env []string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s did not exit within a minute; stderr:\n%s", bin, stderr.String())
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("run %s: %v", bin, err)
	}
	return cmd.ProcessState.ExitCode(), stderr.String()
}
