package boot

import (
	"bytes"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/internal/testenv"
)

// TestProductionCertificateTTLWithVault bootstraps real Consul and Vault
// with PKI roles of a 48-hour TTL. Under the production profile New must
// reject the first certificate that Vault issues and name the role to fix.
// Under development the same stack must build the service, which shows
// that the rejection comes from the profile.
func TestProductionCertificateTTLWithVault(t *testing.T) {
	stack := testenv.Start(t, testenv.Options{CertTTL: 48 * time.Hour})
	role := stack.AppRoles["users"]
	vars := map[string]string{
		EnvVaultAddr:    stack.VaultAddr,
		EnvConsulAddr:   stack.ConsulAddr,
		EnvCAFile:       stack.CAFile,
		EnvRoleIDFile:   role.RoleIDFile,
		EnvSecretIDFile: role.SecretIDFile,
		EnvAuthzFile:    filepath.Join("..", "..", "..", "infra", "authz.yaml"),
		EnvListen:       "127.0.0.1:0",
		EnvAdminListen:  "127.0.0.1:0",
		EnvDataDir:      t.TempDir(),
	}

	for _, tt := range []struct {
		profile string
		reject  bool
	}{{ProfileProduction, true}, {ProfileDevelopment, false}} {
		t.Run(tt.profile, func(t *testing.T) {
			vars[EnvProfile] = tt.profile
			env, err := LoadEnv(getenv(vars), Options{DataDir: true})
			if err != nil {
				t.Fatalf("LoadEnv: %v", err)
			}
			var logs bytes.Buffer
			log := slog.New(slog.NewJSONHandler(&logs, nil))
			svc, err := New(t.Context(), "users", env, Options{DataDir: true}, log)
			if !tt.reject {
				if err != nil {
					t.Fatalf("New under %s: %v", tt.profile, err)
				}
				if err := svc.close(); err != nil {
					t.Errorf("close: %v", err)
				}
				return
			}
			if err == nil {
				svc.close()
				t.Fatal("New accepted a certificate valid for 48 hours")
			}
			t.Logf("New returned:\n%v", err)
			for _, want := range []string{"pki_int/roles/users", "-cert-ttl", "production allows at most 24h0m0s"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error does not contain %q:\n%v", want, err)
				}
			}
		})
	}
}
