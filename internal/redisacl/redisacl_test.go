package redisacl

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRulesLimitEachService(t *testing.T) {
	rules, err := Rules("op-secret", map[string]string{"gateway": "gw-secret"}, []string{"gateway"})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(rules), "\n")
	if len(lines) != 3 {
		t.Fatalf("got %d rules, want 3:\n%s", len(lines), rules)
	}
	if lines[0] != "user default off resetpass nocommands resetkeys resetchannels" {
		t.Errorf("default user rule = %q", lines[0])
	}
	if !strings.HasPrefix(lines[1], "user operator on #") || !strings.HasSuffix(lines[1], "~bulwark:ratelimit:* -@all +ping +info +scan +get +pttl") {
		t.Errorf("operator rule = %q", lines[1])
	}
	if !strings.HasPrefix(lines[2], "user gateway on #") ||
		!strings.HasSuffix(lines[2], "~bulwark:ratelimit:gateway:* -@all +evalsha +eval +time +get +set") {
		t.Errorf("gateway rule = %q", lines[2])
	}
	if strings.Contains(rules, "op-secret") || strings.Contains(rules, "gw-secret") {
		t.Error("the rules contain a password in clear text")
	}
}

func TestRulesRejectUnsafeNames(t *testing.T) {
	for _, name := range []string{"operator", "default", "Gateway", "a b", "pay*", ""} {
		if _, err := Rules("x", map[string]string{name: "y"}, []string{name}); err == nil {
			t.Errorf("Rules accepted the service name %q", name)
		}
	}
}

func TestEnsurePasswordKeepsExisting(t *testing.T) {
	path := filepath.Join(t.TempDir(), "services", "orders", "redis-password")
	first, err := EnsurePassword(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 2*passwordBytes {
		t.Errorf("password length = %d, want %d", len(first), 2*passwordBytes)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("password file mode = %o, want 600", info.Mode().Perm())
	}
	second, err := EnsurePassword(path)
	if err != nil {
		t.Fatal(err)
	}
	if second != first {
		t.Error("a second call replaced the existing password")
	}
}
