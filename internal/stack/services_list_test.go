package stack

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestPlanServicePortsAddedService(t *testing.T) {
	services := append(slices.Clone(defaultAdminOrder), "payments")
	defaults, err := PlanServicePorts(0, services)
	if err != nil {
		t.Fatal(err)
	}
	if got := defaults.Admin["payments"]; got != 9105 {
		t.Errorf("payments admin port = %d, want 9105", got)
	}
	if got := defaults.Admin["gateway"]; got != 9101 {
		t.Errorf("gateway admin port = %d, want 9101", got)
	}

	moved, err := PlanServicePorts(20000, services)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]string{}
	for _, p := range moved.All() {
		if other, dup := seen[p.Port]; dup {
			t.Errorf("%s and %s share port %d", p.Name, other, p.Port)
		}
		seen[p.Port] = p.Name
	}
	if len(seen) != portCount+1 {
		t.Errorf("plan with five services has %d ports, want %d", len(seen), portCount+1)
	}
	if got := moved.Admin["payments"]; got != 20000+portCount {
		t.Errorf("payments admin port = %d, want %d", got, 20000+portCount)
	}

	// The range check counts the added port: base+11 would be 65536.
	if _, err := PlanServicePorts(65535-portCount+1, services); err == nil {
		t.Error("PlanServicePorts accepted a base whose last admin port exceeds 65535")
	}
	if _, err := PlanServicePorts(0, nil); err == nil {
		t.Error("PlanServicePorts accepted an empty service list")
	}
}

func TestStartOrder(t *testing.T) {
	got := startOrder([]string{"gateway", "users", "payments", "orders", "inventory", "audit"})
	want := []string{"users", "inventory", "orders", "payments", "audit", "gateway"}
	if !slices.Equal(got, want) {
		t.Errorf("startOrder = %v, want %v", got, want)
	}
	if got := startOrder(defaultAdminOrder); !slices.Equal(got, Services) {
		t.Errorf("startOrder of the shipped services = %v, want %v", got, Services)
	}
}

func TestLoadServices(t *testing.T) {
	repo := t.TempDir()
	if err := os.MkdirAll(filepath.Join(repo, "infra"), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(repo, "infra", "services.yaml"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	write("services:\n  - name: gateway\n  - name: payments\n")
	got, err := LoadServices(repo)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"gateway", "payments"}; !slices.Equal(got, want) {
		t.Errorf("LoadServices = %v, want %v", got, want)
	}

	write("services:\n  - name: vault\n")
	if _, err := LoadServices(repo); err == nil || !strings.Contains(err.Error(), "vault") {
		t.Errorf("LoadServices with a service named vault: error = %v, want one naming vault", err)
	}

	write("services: []\n")
	if _, err := LoadServices(repo); err == nil {
		t.Error("LoadServices accepted an empty list")
	}
}

func TestStackReadsServicesFile(t *testing.T) {
	root, err := FindRepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	s, err := newStack(Config{RepoRoot: root, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	listed, err := LoadServices(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range listed {
		if !slices.Contains(s.services, name) {
			t.Errorf("stack services %v lack %s of services.yaml", s.services, name)
		}
		if s.ports.Admin[name] == 0 {
			t.Errorf("%s has no admin port", name)
		}
	}
}

func TestStopOrderIncludesUnlistedRecords(t *testing.T) {
	root, err := FindRepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	s, err := newStack(Config{RepoRoot: root, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(s.paths.Run, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"removed", Consul, "users"} {
		if err := os.WriteFile(s.paths.Record(name), []byte("{}"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	got := s.stopOrder()
	if !slices.Contains(got, "removed") {
		t.Errorf("stopOrder = %v, want the recorded service removed", got)
	}
	if slices.Contains(got, Consul) {
		t.Errorf("stopOrder = %v contains the Consul server", got)
	}
	if n := len(slices.DeleteFunc(slices.Clone(got), func(n string) bool { return n != "users" })); n != 1 {
		t.Errorf("stopOrder = %v lists users %d times", got, n)
	}
}
