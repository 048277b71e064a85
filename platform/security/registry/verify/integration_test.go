package verify

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/internal/testenv"
	"github.com/bulwark-go/bulwark/platform/security/vaultclient"
)

// serviceTokenFiles reads a Consul token for each service from Vault with the
// service's own AppRole and writes it to a 0600 file, as an operator would
// before running the checks.
func serviceTokenFiles(t *testing.T, env *testenv.Env, names ...string) map[string]string {
	t.Helper()
	dir := t.TempDir()
	files := make(map[string]string, len(names))
	for _, name := range names {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		role := env.AppRoles[name]
		client, err := vaultclient.New(ctx, vaultclient.Config{
			Address: env.VaultAddr, CAFile: env.CAFile, RoleIDFile: role.RoleIDFile, SecretIDFile: role.SecretIDFile,
		})
		cancel()
		if err != nil {
			t.Fatalf("log in to Vault as %s: %v", name, err)
		}
		t.Cleanup(client.Close)
		secret, err := client.API().Logical().Read("consul/creds/" + name)
		if err != nil {
			t.Fatalf("read the Consul token of %s: %v", name, err)
		}
		token, _ := secret.Data["token"].(string)
		files[name] = filepath.Join(dir, name+".token")
		if err := os.WriteFile(files[name], []byte(token+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return files
}

func TestRunAgainstHarness(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	tokens := serviceTokenFiles(t, env, "gateway", "users", "orders", "inventory")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	results, err := Run(ctx, Config{
		Address:       env.ConsulAddr,
		CAFile:        env.CAFile,
		CertFile:      env.OperatorCertFile,
		KeyFile:       env.OperatorKeyFile,
		ServiceTokens: tokens,
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	var report strings.Builder
	_ = Write(&report, results)
	t.Logf("results:\n%s", report.String())

	if want := 7 + 3*len(tokens); len(results) != want {
		t.Errorf("Run returned %d results, want %d", len(results), want)
	}
	for _, r := range results {
		if r.Status != Pass {
			t.Errorf("%s: %s (%s)", r.Check, r.Status, r.Evidence)
		}
	}
	for name, path := range tokens {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if token := strings.TrimSpace(string(data)); strings.Contains(report.String(), token) {
			t.Errorf("the report contains the token of %s", name)
		}
	}
}

func TestRunAgainstInsecureConsul(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs a Consul binary")
	}
	rogue := startInsecureConsul(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	results, err := Run(ctx, Config{
		Address:  rogue.address,
		CAFile:   rogue.caFile,
		CertFile: rogue.certFile,
		KeyFile:  rogue.keyFile,
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	var report strings.Builder
	_ = Write(&report, results)
	t.Logf("results:\n%s", report.String())

	if !Failed(results) {
		t.Fatal("Failed = false against a Consul without verify_incoming and with default policy allow")
	}
	want := map[string]Status{
		"plaintext HTTP rejected":                          Pass,
		"HTTPS without client certificate rejected":        Fail,
		"HTTPS with untrusted client certificate rejected": Fail,
		"registry client rejects untrusted server":         Pass,
		"anonymous registration rejected":                  Fail,
		"anonymous KV write rejected":                      Fail,
		"anonymous catalog read returns nothing":           Fail,
	}
	for _, r := range results {
		if status, ok := want[r.Check]; ok && r.Status != status {
			t.Errorf("%s: %s, want %s (%s)", r.Check, r.Status, status, r.Evidence)
		}
		delete(want, r.Check)
	}
	for check := range want {
		t.Errorf("no result for %q", check)
	}
}

// TestRunReportsOverbroadToken gives orders a Consul policy that may write
// every service name, as a careless policy edit would, and checks that the
// report turns red for that token only.
func TestRunReportsOverbroadToken(t *testing.T) {
	const overbroad = `service_prefix "" {
  policy = "write"
}

node_prefix "" {
  policy = "read"
}

operator = "read"
`
	env := testenv.Start(t, testenv.Options{ConsulPolicies: map[string]string{"orders": overbroad}})
	tokens := serviceTokenFiles(t, env, "orders", "users")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	results, err := Run(ctx, Config{
		Address:       env.ConsulAddr,
		CAFile:        env.CAFile,
		CertFile:      env.OperatorCertFile,
		KeyFile:       env.OperatorKeyFile,
		ServiceTokens: tokens,
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	var report strings.Builder
	_ = Write(&report, results)
	t.Logf("results:\n%s", report.String())

	if !Failed(results) {
		t.Fatal("Failed = false with a token of orders that may write every service name")
	}
	const red = "token of orders rejected for other names"
	found := false
	for _, r := range results {
		if r.Check == red {
			found = true
			if r.Status != Fail {
				t.Errorf("%s: %s, want %s (%s)", r.Check, r.Status, Fail, r.Evidence)
			}
			continue
		}
		if r.Status != Pass {
			t.Errorf("%s: %s, want %s (%s)", r.Check, r.Status, Pass, r.Evidence)
		}
	}
	if !found {
		t.Errorf("no result for %q", red)
	}
}
