package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulwark-go/bulwark/internal/verify"
)

// TestVerifyNativeStack runs every check against a native stack as built,
// then breaks one protection at a time and checks that the matching check
// fails with evidence that names the cause.
func TestVerifyNativeStack(t *testing.T) {
	s := startStack(t)

	t.Run("every check passes", func(t *testing.T) {
		results := s.run(t)
		groups := map[string]int{}
		for _, r := range results {
			groups[r.Group]++
			if !r.Pass {
				t.Errorf("FAIL %s %s: %s", r.Group, r.Check, r.Evidence)
			}
		}
		for _, g := range verify.Groups {
			if groups[g] == 0 {
				t.Errorf("no result in group %s", g)
			}
		}
		// Four services each get four mtls checks; the broker gets three.
		if groups["mtls"] < 4*4+3 {
			t.Errorf("%d mtls results, want at least %d", groups["mtls"], 4*4+3)
		}
		report, _ := json.Marshal(results)
		for _, secret := range secretsOf(t, s) {
			if bytes.Contains(report, []byte(secret)) {
				t.Error("the report contains a credential of the state directory")
			}
		}
	})

	t.Run("CLI exit status and JSON", func(t *testing.T) {
		bin := filepath.Join(t.TempDir(), "bulwark")
		build := exec.Command("go", "build", "-o", bin, "./cmd/bulwark")
		build.Dir = s.root
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
		ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, "verify", "-env", filepath.Join(s.dir, "env"), "-json", "vault", "certs")
		cmd.Dir = s.root
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("bulwark verify: %v\n%s", err, stderr.String())
		}
		var results []verify.Result
		if err := json.Unmarshal(stdout.Bytes(), &results); err != nil {
			t.Fatalf("output is not a JSON array of results: %v\n%s", err, stdout.String())
		}
		for _, r := range results {
			if r.Group != "vault" && r.Group != "certs" {
				t.Errorf("result of group %s, want only vault and certs", r.Group)
			}
		}
		if len(results) == 0 {
			t.Error("no results")
		}
	})

	t.Run("plaintext service fails mtls", func(t *testing.T) {
		addr := startPlaintextService(t, s, "inventory")
		results := s.run(t, "mtls")
		want := "plaintext gRPC rejected (inventory " + addr + ")"
		r, found := find(results, want)
		if !found {
			t.Fatalf("no result %q", want)
		}
		if r.Pass {
			t.Errorf("%s passed against a plaintext server: %s", want, r.Evidence)
		}
		if !strings.Contains(r.Evidence, "accepted the connection") {
			t.Errorf("evidence %q does not say that the server accepted plaintext", r.Evidence)
		}
		assertOthersPass(t, results, addr)
	})

	t.Run("untrusted certificate fails certs", func(t *testing.T) {
		addr := startUntrustedService(t, s, "orders")
		results := s.run(t, "certs")
		want := "certificate valid (orders " + addr + ")"
		r, found := find(results, want)
		if !found {
			t.Fatalf("no result %q", want)
		}
		if r.Pass {
			t.Errorf("%s passed for a certificate from another CA: %s", want, r.Evidence)
		}
		if !strings.Contains(r.Evidence, "does not chain to the stack's CA") {
			t.Errorf("evidence %q does not name the chain", r.Evidence)
		}
		assertOthersPass(t, results, addr)
	})

	t.Run("overbroad Vault policy fails vault", func(t *testing.T) {
		widenVaultPolicy(t, s, "gateway", `path "consul/creds/inventory" {
  capabilities = ["read"]
}
`)
		results := s.run(t, "vault")
		const want = "AppRole of gateway denied the secrets of inventory"
		r, found := find(results, want)
		if !found {
			t.Fatalf("no result %q", want)
		}
		if r.Pass {
			t.Errorf("%s passed with a policy that grants consul/creds/inventory: %s", want, r.Evidence)
		}
		if !strings.Contains(r.Evidence, "consul/creds/inventory succeeded") {
			t.Errorf("evidence %q does not name the path", r.Evidence)
		}
		for _, other := range results {
			if other.Check != want && !other.Pass {
				t.Errorf("FAIL %s: %s", other.Check, other.Evidence)
			}
		}
		report, _ := json.Marshal(results)
		for _, secret := range secretsOf(t, s) {
			if bytes.Contains(report, []byte(secret)) {
				t.Error("the report contains a credential of the state directory")
			}
		}
	})
}

func find(results []verify.Result, check string) (verify.Result, bool) {
	for _, r := range results {
		if r.Check == check {
			return r, true
		}
	}
	return verify.Result{}, false
}

// assertOthersPass checks that every result about another address passed,
// so the failure points at the broken instance only.
func assertOthersPass(t *testing.T, results []verify.Result, addr string) {
	t.Helper()
	for _, r := range results {
		if !strings.Contains(r.Check, addr) && !r.Pass {
			t.Errorf("FAIL %s %s: %s", r.Group, r.Check, r.Evidence)
		}
	}
}
