package scaffold

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bulwark-go/bulwark/internal/bootstrap"
	"github.com/bulwark-go/bulwark/platform/security/authz"
)

// fixtureFiles are the repository files that the scaffold reads or edits.
var fixtureFiles = []string{
	"go.mod",
	servicesFile,
	authzFile,
	composeFile,
	"infra/consul/policies/users.hcl",
	"infra/ratelimit/users.yaml",
	"services/users/main.go",
}

// newFixture copies the files of the real repository that the scaffold
// uses into a temporary directory and returns it.
//
// The expectations of these tests (free names, the next compose address)
// hold for the four services that Bulwark ships. In a fork that has added
// services, the tests skip and name the added services.
func newFixture(t *testing.T) string {
	t.Helper()
	skipIfServicesAdded(t)
	repo := t.TempDir()
	for _, rel := range fixtureFiles {
		data, err := os.ReadFile(filepath.Join("..", "..", filepath.FromSlash(rel)))
		if err != nil {
			t.Fatal(err)
		}
		target := filepath.Join(repo, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(target, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return repo
}

// treeHash returns a digest of every path, mode and file content below dir.
func treeHash(t *testing.T, dir string) string {
	t.Helper()
	h := sha256.New()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		h.Write([]byte(rel + "\x00" + info.Mode().String() + "\x00"))
		if d.Type().IsRegular() {
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			h.Write(data)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func TestValidateNameRejects(t *testing.T) {
	for _, c := range []struct {
		desc, name, want string
	}{
		{"empty", "", "empty"},
		{"upper case", "Payments", "'P'"},
		{"leading digit", "1pay", "must start with a lowercase letter"},
		{"hyphen", "pay-ments", "hyphen"},
		{"underscore", "pay_ments", "'_'"},
		{"dot", "pay.ments", "'.'"},
		{"path", "../payments", "'.'"},
		{"too long", strings.Repeat("a", 64), "maximum is 63"},
		{"consul", "consul", "reserved"},
		{"vault", "vault", "reserved"},
		{"redis", "redis", "reserved"},
		{"bootstrap", "bootstrap", "reserved"},
		{"redis operator", "operator", "reserved"},
		{"redis default user", "default", "reserved"},
		{"internal", "internal", "reserved"},
		{"testdata", "testdata", "reserved"},
		{"handler type clash", "new", "reserved"},
	} {
		t.Run(c.desc, func(t *testing.T) {
			err := ValidateName(c.name)
			if err == nil {
				t.Fatalf("ValidateName(%q) = nil, want an error", c.name)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("ValidateName(%q) = %v, want it to contain %s", c.name, err, c.want)
			}
		})
	}
	for _, name := range []string{"payments", "a", "billing2", strings.Repeat("a", 63)} {
		if err := ValidateName(name); err != nil {
			t.Errorf("ValidateName(%q) = %v, want nil", name, err)
		}
	}
}

func TestNewServiceRejectsBadNameUnchanged(t *testing.T) {
	repo := newFixture(t)
	before := treeHash(t, repo)
	for _, name := range []string{"Payments", "pay-ments", "consul", "", "x/y"} {
		if _, err := NewService(Options{Repo: repo, Name: name}); err == nil {
			t.Errorf("NewService(%q) = nil error, want a rejection", name)
		}
	}
	if after := treeHash(t, repo); after != before {
		t.Error("a rejected name changed the repository")
	}
}

func TestNewServiceRejectsUsedName(t *testing.T) {
	for _, c := range []struct {
		desc  string
		name  string
		setup func(t *testing.T, repo string)
		want  string
	}{
		{"shipped service", "users", nil, "services/users exists"},
		{"directory only", "payments", func(t *testing.T, repo string) {
			mkdir(t, filepath.Join(repo, "services", "payments"))
		}, "services/payments exists"},
		{"services.yaml only", "payments", func(t *testing.T, repo string) {
			appendFile(t, filepath.Join(repo, servicesFile), "  - name: payments\n")
		}, servicesFile + " lists it"},
		{"authz only", "payments", func(t *testing.T, repo string) {
			replaceIn(t, filepath.Join(repo, authzFile), "  - inventory\n", "  - inventory\n  - payments\n")
		}, authzFile + " declares it"},
		{"compose only", "payments", func(t *testing.T, repo string) {
			replaceIn(t, filepath.Join(repo, composeFile), "\nnetworks:\n", "\n  payments:\n    image: other\n\nnetworks:\n")
		}, composeFile + " has a service"},
		{"consul policy only", "payments", func(t *testing.T, repo string) {
			writeFile(t, filepath.Join(repo, "infra", "consul", "policies", "payments.hcl"), "# old\n")
		}, "payments.hcl exists"},
		{"rate limits only", "payments", func(t *testing.T, repo string) {
			mkdir(t, filepath.Join(repo, "infra", "ratelimit"))
			writeFile(t, filepath.Join(repo, "infra", "ratelimit", "payments.yaml"), "# old\n")
		}, "payments.yaml exists"},
	} {
		t.Run(c.desc, func(t *testing.T) {
			repo := newFixture(t)
			if c.setup != nil {
				c.setup(t, repo)
			}
			before := treeHash(t, repo)
			_, err := NewService(Options{Repo: repo, Name: c.name})
			if err == nil {
				t.Fatalf("NewService(%q) = nil error, want a rejection", c.name)
			}
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "nothing was changed") {
				t.Errorf("error = %v, want it to contain %q and say nothing was changed", err, c.want)
			}
			if after := treeHash(t, repo); after != before {
				t.Error("a rejected name changed the repository")
			}
		})
	}
}

func TestNewServiceWritesEntries(t *testing.T) {
	repo := newFixture(t)
	oldAuthz := readFile(t, filepath.Join(repo, authzFile))
	oldCompose := readFile(t, filepath.Join(repo, composeFile))
	oldServices := readFile(t, filepath.Join(repo, servicesFile))

	result, err := NewService(Options{Repo: repo, Name: "payments", Description: "card payments: charge # refund"})
	if err != nil {
		t.Fatal(err)
	}
	for _, rel := range []string{
		"services/payments/main.go", "services/payments/api/api.go", "services/payments/handler/handler.go",
		"services/payments/client/client.go", "infra/consul/policies/payments.hcl", "infra/ratelimit/payments.yaml",
	} {
		if !slices.Contains(result.Created, rel) {
			t.Errorf("Created lacks %s: %v", rel, result.Created)
		}
		if _, err := os.Stat(filepath.Join(repo, filepath.FromSlash(rel))); err != nil {
			t.Errorf("%s was not written: %v", rel, err)
		}
	}
	if result.ComposeAddress != 24 {
		t.Errorf("compose address .%d, want .24 after inventory's .23", result.ComposeAddress)
	}

	services, err := bootstrap.LoadServices(filepath.Join(repo, servicesFile))
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(services, func(s bootstrap.Service) bool { return s.Name == "payments" })
	if i < 0 {
		t.Fatalf("services.yaml does not list payments: %v", services)
	}
	if services[i].Description != "card payments: charge # refund" {
		t.Errorf("description = %q, want it unchanged by quoting", services[i].Description)
	}

	policy, err := authz.Load(filepath.Join(repo, authzFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, caller := range []string{"gateway", "users", "payments"} {
		if err := policy.AllowCall(caller, "payments", "Payments.Ping"); err == nil {
			t.Errorf("the edited authz.yaml lets %s call Payments.Ping; want nobody", caller)
		}
	}

	// In compose the service logs in to Redis as its own ACL user with the
	// password in its own credentials, not with a shared password.
	compose := readFile(t, filepath.Join(repo, composeFile))
	if !strings.Contains(compose, "BULWARK_RATELIMIT_REDIS_USERNAME: payments\n") {
		t.Error("the compose entry does not set the Redis user payments")
	}
	if strings.Count(compose, "state/redis/password") != strings.Count(oldCompose, "state/redis/password") {
		t.Error("the compose entry mounts the shared Redis password")
	}

	main := readFile(t, filepath.Join(repo, "services/payments/main.go"))
	if !strings.Contains(main, "boot.Main(api.ServiceName") {
		t.Errorf("main.go lacks the boot.Main wiring:\n%s", main)
	}

	// Every old line stays, in order, so comments and layout are kept.
	for file, old := range map[string]string{authzFile: oldAuthz, composeFile: oldCompose, servicesFile: oldServices} {
		if !isSubsequence(strings.Split(old, "\n"), strings.Split(readFile(t, filepath.Join(repo, file)), "\n")) {
			t.Errorf("%s lost or reordered existing lines", file)
		}
	}

	// A second service takes the next compose address.
	second, err := NewService(Options{Repo: repo, Name: "billing"})
	if err != nil {
		t.Fatal(err)
	}
	if second.ComposeAddress != 25 {
		t.Errorf("second compose address .%d, want .25", second.ComposeAddress)
	}
}

func TestNewServiceWithoutCompose(t *testing.T) {
	repo := newFixture(t)
	if err := os.Remove(filepath.Join(repo, composeFile)); err != nil {
		t.Fatal(err)
	}
	result, err := NewService(Options{Repo: repo, Name: "payments"})
	if err != nil {
		t.Fatal(err)
	}
	if result.ComposeAddress != 0 || slices.Contains(result.Changed, composeFile) {
		t.Errorf("result %+v names a compose file that does not exist", result)
	}
}

func TestApplyRollsBackFailedWrite(t *testing.T) {
	repo := newFixture(t)
	before := treeHash(t, repo)
	changes, _, err := plan(Options{Repo: repo, Name: "payments"})
	if err != nil {
		t.Fatal(err)
	}
	// Fail each write in turn, including the last edit of a shared file.
	for failAt := range changes {
		writes := 0
		write := func(path string, data []byte, perm fs.FileMode) error {
			if writes == failAt {
				return errors.New("disk full")
			}
			writes++
			return writeAtomic(path, data, perm)
		}
		err := apply(repo, changes, write)
		if err == nil || !strings.Contains(err.Error(), "disk full") || !strings.Contains(err.Error(), changes[failAt].path) {
			t.Errorf("write %d failing: error = %v, want one naming %s and the cause", failAt, err, changes[failAt].path)
		}
		if after := treeHash(t, repo); after != before {
			t.Fatalf("write %d (%s) failing left the repository changed", failAt, changes[failAt].path)
		}
	}
}

func TestRenderedGoUsesModulePath(t *testing.T) {
	changes, err := renderService(templateData{Name: "payments", Type: "Payments", Module: "example.com/fork",
		Description: "d", Host: 24})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range changes {
		switch c.path {
		case "services/payments/main.go", "services/payments/handler/handler.go", "services/payments/client/client.go":
			if !strings.Contains(string(c.data), `"example.com/fork/services/payments/api"`) {
				t.Errorf("%s does not import the api package of the fork's module path:\n%s", c.path, c.data)
			}
		}
	}
}

func isSubsequence(sub, full []string) bool {
	i := 0
	for _, line := range full {
		if i < len(sub) && line == sub[i] {
			i++
		}
	}
	return i == len(sub)
}

func mkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func appendFile(t *testing.T, path, text string) {
	t.Helper()
	writeFile(t, path, readFile(t, path)+text)
}

func replaceIn(t *testing.T, path, old, replacement string) {
	t.Helper()
	text := readFile(t, path)
	if !strings.Contains(text, old) {
		t.Fatalf("%s does not contain %q", path, old)
	}
	writeFile(t, path, strings.Replace(text, old, replacement, 1))
}

// skipIfServicesAdded skips the test when the repository's services.yaml
// lists services beyond the four that Bulwark ships.
func skipIfServicesAdded(t *testing.T) {
	t.Helper()
	services, err := bootstrap.LoadServices(filepath.Join("..", "..", servicesFile))
	if err != nil {
		t.Fatal(err)
	}
	shipped := []string{"gateway", "users", "orders", "inventory"}
	var added []string
	for _, s := range services {
		if !slices.Contains(shipped, s.Name) {
			added = append(added, s.Name)
		}
	}
	if len(added) > 0 {
		t.Skipf("services.yaml lists services beyond the shipped four (%s); these tests expect the shipped files",
			strings.Join(added, ", "))
	}
}
