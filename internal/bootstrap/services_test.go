package bootstrap

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestParseServices(t *testing.T) {
	tests := []struct {
		desc    string
		yaml    string
		want    []string
		wantErr string
	}{
		{desc: "valid", yaml: "services:\n  - name: users\n  - name: orders\n    consul_policy: consul/policies/x.hcl\n",
			want: []string{"users", "orders"}},
		{desc: "empty list", yaml: "services: []\n", wantErr: "lists no services"},
		{desc: "unknown key", yaml: "services:\n  - name: users\n    policy: x\n", wantErr: "field policy not found"},
		{desc: "invalid name", yaml: "services:\n  - name: Users\n", wantErr: `"Users" contains 'U'`},
		{desc: "empty name", yaml: "services:\n  - description: x\n", wantErr: "service name is empty"},
		{desc: "duplicate", yaml: "services:\n  - name: users\n  - name: users\n", wantErr: "listed twice"},
		{desc: "absolute policy", yaml: "services:\n  - name: users\n    consul_policy: /etc/passwd\n",
			wantErr: "relative path inside the infra directory"},
		{desc: "policy outside infra", yaml: "services:\n  - name: users\n    consul_policy: ../x.hcl\n",
			wantErr: "relative path inside the infra directory"},
		{desc: "not yaml", yaml: "services: [", wantErr: "parse test.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			services, err := ParseServices([]byte(tt.yaml), "test.yaml")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseServices() error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseServices() error = %v", err)
			}
			var names []string
			for _, s := range services {
				names = append(names, s.Name)
			}
			if strings.Join(names, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("names = %v, want %v", names, tt.want)
			}
		})
	}
}

// repoInfraDir returns the infra directory of this repository.
func repoInfraDir(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("no caller information")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "infra")
}

func TestInfraServicesHavePolicies(t *testing.T) {
	infra := repoInfraDir(t)
	services, err := LoadServices(filepath.Join(infra, "services.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// A fork adds services with bulwark new service, so the shipped four
	// must come first and any others are checked the same way.
	shipped := []string{"gateway", "users", "orders", "inventory"}
	if len(services) < len(shipped) {
		t.Fatalf("services.yaml lists %d services, want at least %d", len(services), len(shipped))
	}
	for i, s := range services {
		if i < len(shipped) && s.Name != shipped[i] {
			t.Errorf("service %d = %q, want %q", i, s.Name, shipped[i])
		}
		policy, err := s.consulPolicyText(infra)
		if err != nil {
			t.Errorf("policy of %s: %v", s.Name, err)
			continue
		}
		if !strings.Contains(policy, "service \""+s.Name+"\" {\n  policy = \"write\"") {
			t.Errorf("policy of %s does not grant write on its own service name", s.Name)
		}
		rules := withoutComments(policy)
		for _, forbidden := range []string{"key_prefix", "key \"", "acl", "agent", "keyring", "query", "event", "session", "mesh", "peering"} {
			if strings.Contains(rules, forbidden) {
				t.Errorf("policy of %s contains %q", s.Name, forbidden)
			}
		}
		broker := strings.Contains(policy, `service "micro.http.broker"`)
		if broker != (s.Name == "inventory") {
			t.Errorf("policy of %s: write on micro.http.broker = %v; only the subscriber inventory needs it", s.Name, broker)
		}
	}
}

func TestConsulPolicyTextMissingFile(t *testing.T) {
	dir := t.TempDir()
	_, err := Service{Name: "billing"}.consulPolicyText(dir)
	want := filepath.Join(dir, "consul", "policies", "billing.hcl")
	if err == nil || !strings.Contains(err.Error(), "create "+want) {
		t.Fatalf("error = %v, want it to name %s", err, want)
	}
	if err := os.MkdirAll(filepath.Dir(want), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(want, []byte("  \n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := (Service{Name: "billing"}).consulPolicyText(dir); err == nil || !strings.Contains(err.Error(), "is empty") {
		t.Fatalf("error = %v, want an empty-policy error", err)
	}
}

// withoutComments drops the comment lines of an HCL policy.
func withoutComments(policy string) string {
	var ruleLines []string
	for _, line := range strings.Split(policy, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			ruleLines = append(ruleLines, line)
		}
	}
	return strings.Join(ruleLines, "\n")
}
