package secure_test

import (
	"context"
	"log"
	"log/slog"
	"os"

	"go-micro.dev/v4"
	"go-micro.dev/v4/registry"

	"github.com/bulwark-go/bulwark/platform/security/secure"
	"github.com/bulwark-go/bulwark/platform/security/vaultclient"
)

// The main.go of a service: security from one call, then handlers, then Run.
// The registry here is go-micro's in-memory one; a real service passes the
// Consul registry of platform/security/registry.
func ExampleNewService() {
	ctx := context.Background()
	svc, err := secure.NewService(ctx, secure.Config{
		Name: "inventory",
		Vault: vaultclient.Config{
			Address:      os.Getenv("BULWARK_VAULT_ADDR"),
			CAFile:       "/run/bulwark/ca.pem",
			RoleIDFile:   "/run/bulwark/inventory/role_id",
			SecretIDFile: "/run/bulwark/inventory/secret_id",
		},
		PolicyFile: "infra/authz.yaml",
		Registry:   registry.NewMemoryRegistry(),
		Logger:     slog.New(slog.NewJSONHandler(os.Stderr, nil)),
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := micro.RegisterHandler(svc.Server(), &Probe{}); err != nil {
		log.Fatal(err)
	}
	if err := svc.Run(); err != nil {
		log.Fatal(err)
	}
}
