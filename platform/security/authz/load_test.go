package authz

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func repoFile(t *testing.T, rel string) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", rel)
}

func TestInfraPolicy(t *testing.T) {
	p, err := Load(repoFile(t, "infra/authz.yaml"))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	tests := []struct {
		caller, service, endpoint string
		allowed                   bool
	}{
		{"gateway", "users", "Users.Login", true},
		{"gateway", "orders", "Orders.Place", true},
		{"gateway", "inventory", "Inventory.GetProduct", true},
		{"orders", "inventory", "Inventory.Reserve", true},
		{"gateway", "inventory", "Inventory.Reserve", false},
		{"orders", "users", "Users.Login", false},
		{"inventory", "orders", "Orders.Place", false},
		{"users", "users", "Users.Login", false},
		{"gateway", "users", "Users.Unknown", false},
		{"stranger", "users", "Users.Login", false},
	}
	for _, tt := range tests {
		err := p.AllowCall(tt.caller, tt.service, tt.endpoint)
		if got := err == nil; got != tt.allowed {
			t.Errorf("AllowCall(%s, %s, %s) = %v, want allowed=%v", tt.caller, tt.service, tt.endpoint, err, tt.allowed)
		}
	}
	if err := p.AllowPublish("orders", "order.placed"); err != nil {
		t.Errorf("orders may not publish order.placed: %v", err)
	}
	if err := p.AllowPublish("gateway", "order.placed"); err == nil {
		t.Error("gateway may publish order.placed")
	}
	if err := p.AllowSubscribe("inventory", "order.placed"); err != nil {
		t.Errorf("inventory may not receive order.placed: %v", err)
	}
	if err := p.AllowSubscribe("users", "order.placed"); err == nil {
		t.Error("users may receive order.placed")
	}
	var denied *DeniedError
	if err := p.AllowCall("orders", "users", "Users.Login"); !errors.As(err, &denied) {
		t.Errorf("denial is %T, want *DeniedError", err)
	}
}

func TestInfraPolicyMatchesServices(t *testing.T) {
	data, err := os.ReadFile(repoFile(t, "infra/services.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Services []struct{ Name string } `yaml:"services"`
	}
	if err := yaml.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, s := range file.Services {
		want = append(want, s.Name)
	}
	slices.Sort(want)
	p, err := Load(repoFile(t, "infra/authz.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Services(); !slices.Equal(got, want) {
		t.Fatalf("authz.yaml declares %v, services.yaml %v", got, want)
	}
}

func TestParseErrorsNameLine(t *testing.T) {
	tests := []struct {
		desc    string
		yaml    string
		wantErr string
	}{
		{desc: "unknown caller", yaml: "services: [a, b]\nendpoints:\n  a:\n    H.M: [c]\n", wantErr: `p.yaml:4: unknown service "c"`},
		{desc: "unknown callee", yaml: "services: [a]\nendpoints:\n  z:\n    H.M: [a]\n", wantErr: `p.yaml:3: unknown service "z"`},
		{desc: "bad endpoint", yaml: "services: [a]\nendpoints:\n  a:\n    Login: [a]\n", wantErr: `p.yaml:4: endpoint "Login" of a is not of the form Handler.Method`},
		{desc: "duplicate endpoint", yaml: "services: [a]\nendpoints:\n  a:\n    H.M: [a]\n    H.M: [a]\n", wantErr: "p.yaml:5: endpoint H.M of a is already listed on line 4"},
		{desc: "duplicate service", yaml: "services: [a, a]\n", wantErr: "p.yaml:1: service a is already declared"},
		{desc: "invalid service name", yaml: "services: [Orders]\n", wantErr: "p.yaml:1:"},
		{desc: "unknown key", yaml: "services: [a]\nrules: []\n", wantErr: `p.yaml:2: unknown key "rules"`},
		{desc: "empty callers", yaml: "services: [a]\nendpoints:\n  a:\n    H.M: []\n", wantErr: "p.yaml:4: callers of a H.M is an empty list"},
		{desc: "caller twice", yaml: "services: [a]\nendpoints:\n  a:\n    H.M: [a, a]\n", wantErr: "lists a twice"},
		{desc: "bad topic", yaml: "services: [a]\ntopics:\n  Order Placed:\n    publishers: [a]\n", wantErr: "p.yaml:3: topic"},
		{desc: "unknown publisher", yaml: "services: [a]\ntopics:\n  t:\n    publishers: [b]\n", wantErr: `p.yaml:4: unknown service "b"`},
		{desc: "unknown topic key", yaml: "services: [a]\ntopics:\n  t:\n    readers: [a]\n", wantErr: `p.yaml:4: unknown key "readers"`},
		{desc: "no services", yaml: "endpoints: {}\n", wantErr: "no services declared"},
		{desc: "empty file", yaml: "", wantErr: "is empty"},
		{desc: "not yaml", yaml: "services: [a\n", wantErr: "p.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			_, err := Parse("p.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatalf("Parse = nil, want an error containing %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Parse = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestCheckEndpoints(t *testing.T) {
	p, err := Parse("p.yaml", []byte("services: [a]\nendpoints:\n  a:\n    H.One: [a]\n    H.Two: [a]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.CheckEndpoints("a", []string{"H.One", "H.Two", "H.Three"}); err != nil {
		t.Fatalf("CheckEndpoints with all served = %v", err)
	}
	err = p.CheckEndpoints("a", []string{"H.One"})
	if err == nil || !strings.Contains(err.Error(), "p.yaml:5: service a has no endpoint H.Two") {
		t.Fatalf("CheckEndpoints = %v, want the line of H.Two", err)
	}
}
