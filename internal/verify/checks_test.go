package verify

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func parseChain(t *testing.T, der [][]byte) []*x509.Certificate {
	t.Helper()
	var chain []*x509.Certificate
	for _, d := range der {
		c, err := x509.ParseCertificate(d)
		if err != nil {
			t.Fatal(err)
		}
		chain = append(chain, c)
	}
	return chain
}

func TestVerifyChain(t *testing.T) {
	cert, err := throwawayCertificate("orders")
	if err != nil {
		t.Fatal(err)
	}
	chain := parseChain(t, cert.Certificate)
	own := x509.NewCertPool()
	own.AddCert(chain[1])

	name, err := verifyChain(chain[:1], own, time.Now())
	if err != nil || name != "orders" {
		t.Errorf("verifyChain with its CA = %q, %v; want orders", name, err)
	}
	other, err := throwawayCertificate("orders")
	if err != nil {
		t.Fatal(err)
	}
	otherRoots := x509.NewCertPool()
	otherRoots.AddCert(parseChain(t, other.Certificate)[1])
	if _, err := verifyChain(chain, otherRoots, time.Now()); err == nil || !strings.Contains(err.Error(), "does not chain") {
		t.Errorf("verifyChain with another CA = %v, want a chain error", err)
	}
	if _, err := verifyChain(chain, own, time.Now().Add(2*time.Hour)); err == nil {
		t.Error("verifyChain accepted an expired certificate")
	}
	if _, err := verifyChain(nil, own, time.Now()); err == nil {
		t.Error("verifyChain accepted an empty chain")
	}
}

func TestDeniedCall(t *testing.T) {
	path := filepath.Join(t.TempDir(), "authz.yaml")
	table := `services: [gateway, users, orders, inventory]
endpoints:
  inventory:
    Inventory.ListProducts: [gateway]
    Inventory.Reserve: [orders]
  users:
    Users.Login: [gateway]
`
	if err := os.WriteFile(path, []byte(table), 0o600); err != nil {
		t.Fatal(err)
	}
	tbl, err := loadTable(path)
	if err != nil {
		t.Fatal(err)
	}
	callers := []string{"gateway", "inventory", "orders", "users"}
	endpoint, caller, ok := tbl.deniedCall("inventory", callers)
	if !ok || endpoint != "Inventory.ListProducts" || caller != "orders" {
		t.Errorf("deniedCall(inventory) = %s, %s, %v; want Inventory.ListProducts by orders", endpoint, caller, ok)
	}
	if err := tbl.policy.AllowCall(caller, "inventory", endpoint); err == nil {
		t.Errorf("the table allows %s to call %s", caller, endpoint)
	}
	if _, _, ok := tbl.deniedCall("gateway", callers); ok {
		t.Error("deniedCall(gateway) found an endpoint, but the table lists none")
	}
}

func TestGRPCMethod(t *testing.T) {
	if got := grpcMethod("inventory", "Inventory.Reserve"); got != "/inventory.Inventory/Reserve" {
		t.Errorf("grpcMethod = %q", got)
	}
}
