package composetc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	tccompose "github.com/testcontainers/testcontainers-go/modules/compose"
	"github.com/testcontainers/testcontainers-go/wait"
)

// verifyGroups are the check groups of bulwark verify; a full run must
// report at least one check of each.
var verifyGroups = []string{"registry", "mtls", "certs", "limits", "vault"}

// verifyResult is one element of bulwark verify -json's output.
type verifyResult struct {
	Group    string `json:"group"`
	Check    string `json:"check"`
	Pass     bool   `json:"pass"`
	Evidence string `json:"evidence"`
}

// testVerify runs bulwark verify against the stack through its env file
// and requires every check of every group to pass.
func testVerify(ctx context.Context, t *testing.T, s *stack) {
	results, code := s.runVerify(ctx, t)

	seen := map[string]int{}
	for _, r := range results {
		seen[r.Group]++
		if !r.Pass {
			t.Errorf("verify %s/%s failed: %s", r.Group, r.Check, r.Evidence)
		}
	}
	for _, group := range verifyGroups {
		if seen[group] == 0 {
			t.Errorf("bulwark verify reported no check of group %s", group)
		}
	}
	for group := range seen {
		if !slices.Contains(verifyGroups, group) {
			t.Errorf("bulwark verify reported unknown group %q", group)
		}
	}
	if code != 0 {
		t.Errorf("bulwark verify exited with code %d, want 0", code)
	}
}

// testVerifyCatchesLiftedLimit recreates the gateway with a per-address
// limit too high for any burst, and requires bulwark verify's limits group
// to report FAIL and exit 1. It changes the stack, so it runs last.
func testVerifyCatchesLiftedLimit(ctx context.Context, t *testing.T, s *stack) {
	override := filepath.Join(s.dir, "lifted-limit.yml")
	lifted := "services:\n  gateway:\n    environment:\n      BULWARK_RATELIMIT_GATEWAY_IP: 100000/s burst 100000\n"
	if err := os.WriteFile(override, []byte(lifted), 0o600); err != nil {
		t.Fatal(err)
	}
	broken, err := tccompose.NewDockerComposeWith(
		tccompose.WithStackFiles(filepath.Join(s.repo, "docker-compose.yml"), override),
		tccompose.StackIdentifier(s.project),
	)
	if err != nil {
		t.Fatalf("load docker-compose.yml with %s: %v", override, err)
	}
	t.Cleanup(func() { broken.Close() })

	uid, gid := containerUser()
	broken.WithEnv(s.composeEnv(uid, gid))
	broken.WaitForService("gateway", wait.ForHealthCheck().WithStartupTimeout(healthTimeout))
	// Only the gateway's settings differ, so compose up recreates only the
	// gateway container. The stack's teardown removes it with the rest.
	if err := broken.Up(ctx); err != nil {
		t.Fatalf("recreate the gateway with a lifted limit: %v\n%s", err, s.logs(t))
	}
	if err := s.waitHealthz(ctx); err != nil {
		t.Fatalf("gateway with a lifted limit: %v", err)
	}

	results, code := s.runVerify(ctx, t, "limits")
	if code != 1 {
		t.Errorf("bulwark verify limits exited with code %d, want 1 with the limit lifted", code)
	}
	failed := 0
	for _, r := range results {
		if r.Group != "limits" {
			t.Errorf("bulwark verify limits reported a check of group %s", r.Group)
		}
		if !r.Pass {
			failed++
		}
	}
	if failed == 0 {
		t.Errorf("bulwark verify limits reported no FAIL with the gateway limit lifted")
	}
}

// runVerify builds cmd/bulwark once, runs bulwark verify -json against the
// stack's env file with the given groups (all when none), logs each line
// and returns the results with the exit code.
func (s *stack) runVerify(ctx context.Context, t *testing.T, groups ...string) ([]verifyResult, int) {
	t.Helper()
	binary := s.bulwarkBinary(ctx, t)

	runCtx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	args := append([]string{"verify", "-env", s.envFile(), "-json", "-timeout", "3m"}, groups...)
	cmd := exec.CommandContext(runCtx, binary, args...)
	cmd.Dir = s.repo
	cmd.Env = environWithout("BULWARK_", "CONSUL_", "VAULT_")
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	runErr := cmd.Run()

	code := 0
	var exitErr *exec.ExitError
	switch {
	case runErr == nil:
	case errors.As(runErr, &exitErr):
		code = exitErr.ExitCode()
	default:
		t.Fatalf("run bulwark %s: %v\nstderr:\n%s", strings.Join(args, " "), runErr, stderr.String())
	}

	var results []verifyResult
	if err := json.Unmarshal(stdout.Bytes(), &results); err != nil {
		t.Fatalf("bulwark %s (exit code %d) printed no JSON array: %v\nstdout:\n%s\nstderr:\n%s",
			strings.Join(args, " "), code, err, stdout.String(), stderr.String())
	}
	for _, r := range results {
		outcome := "PASS"
		if !r.Pass {
			outcome = "FAIL"
		}
		t.Logf("%s %s/%s: %s", outcome, r.Group, r.Check, r.Evidence)
	}
	if code != 0 && stderr.Len() > 0 {
		t.Logf("bulwark verify stderr:\n%s", stderr.String())
	}
	return results, code
}

// bulwarkBinary builds cmd/bulwark from the checkout on first use and
// returns its path.
func (s *stack) bulwarkBinary(ctx context.Context, t *testing.T) string {
	t.Helper()
	if s.bulwark != "" {
		return s.bulwark
	}
	binary := filepath.Join(s.dir, "bulwark")
	build := exec.CommandContext(ctx, "go", "build", "-o", binary, "./cmd/bulwark")
	build.Dir = s.repo
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/bulwark: %v\n%s", err, out)
	}
	s.bulwark = binary
	return binary
}

// environWithout returns this process's environment without the variables
// that start with any of prefixes, so that only the env file configures
// bulwark verify.
func environWithout(prefixes ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		drop := false
		for _, prefix := range prefixes {
			if strings.HasPrefix(kv, prefix) {
				drop = true
			}
		}
		if !drop {
			env = append(env, kv)
		}
	}
	return env
}
