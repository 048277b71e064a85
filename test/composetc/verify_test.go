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
)

// verifyGroups are the check groups of bulwark verify; a run must report
// at least one check of each.
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
	binary := filepath.Join(t.TempDir(), "bulwark")
	build := exec.CommandContext(ctx, "go", "build", "-o", binary, "./cmd/bulwark")
	build.Dir = s.repo
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/bulwark: %v\n%s", err, out)
	}

	help, _ := exec.CommandContext(ctx, binary, "verify", "-h").CombinedOutput()
	if !bytes.Contains(help, []byte("-env")) || !bytes.Contains(help, []byte("-json")) {
		t.Skipf("skipped: `bulwark verify [-env FILE] [-json]` does not exist yet; `bulwark verify -h` printed:\n%s", help)
	}

	runCtx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(runCtx, binary, "verify", "-env", s.envFile(), "-json", "-timeout", "3m")
	cmd.Dir = s.repo
	cmd.Env = environWithout("BULWARK_", "CONSUL_", "VAULT_")
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	runErr := cmd.Run()

	var results []verifyResult
	if err := json.Unmarshal(stdout.Bytes(), &results); err != nil {
		t.Fatalf("bulwark verify -json printed no JSON array: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	seen := map[string]int{}
	for _, r := range results {
		seen[r.Group]++
		outcome := "PASS"
		if !r.Pass {
			outcome = "FAIL"
			t.Errorf("verify %s/%s failed: %s", r.Group, r.Check, r.Evidence)
		}
		t.Logf("%s %s/%s: %s", outcome, r.Group, r.Check, r.Evidence)
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

	var exitErr *exec.ExitError
	switch {
	case runErr == nil:
	case errors.As(runErr, &exitErr):
		t.Errorf("bulwark verify exited with code %d, want 0\nstderr:\n%s", exitErr.ExitCode(), stderr.String())
	default:
		t.Errorf("run bulwark verify: %v\nstderr:\n%s", runErr, stderr.String())
	}
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
