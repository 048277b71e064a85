package registry_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"

	vault "github.com/hashicorp/vault/api"
	micro "go-micro.dev/v4"

	"github.com/bulwark-go/bulwark/platform/security/registry"
)

// Example connects a service to Consul with a token from Vault. The TLS
// config comes from the service's certificate source, and the Vault client is
// logged in with the service's AppRole.
func Example() {
	var (
		tlsConfig   *tls.Config   // trust chain CA in RootCAs, GetClientCertificate from the certificate source
		vaultClient *vault.Client // logged in with the service's AppRole
	)
	ctx := context.Background()

	reg, err := registry.New(ctx, registry.Options{
		Service:   "orders",
		Address:   "127.0.0.1:8501",
		TLSConfig: tlsConfig,
		Vault:     vaultClient,
		Logger:    slog.New(slog.NewJSONHandler(os.Stderr, nil)),
	})
	if err != nil {
		slog.Error("connecting to Consul failed", "error", err)
		os.Exit(1)
	}
	defer reg.Close()

	// ServiceOptions sets the registry, the registration TTL and interval,
	// and a check that fails the start when Consul rejected the registration.
	service := micro.NewService(append([]micro.Option{micro.Name("orders")}, reg.ServiceOptions()...)...)
	if err := service.Run(); err != nil {
		slog.Error("service stopped", "error", err)
		os.Exit(1)
	}
}

func ExampleValidateAddress() {
	fmt.Println(registry.ValidateAddress("127.0.0.1:8501"))
	fmt.Println(registry.ValidateAddress("https://127.0.0.1:8501"))
	// Output:
	// <nil>
	// registry: Consul address "https://127.0.0.1:8501" has the scheme "https"; use "127.0.0.1:8501", because the registry always uses TLS
}

func ExampleValidateTLSConfig() {
	fmt.Println(registry.ValidateTLSConfig(&tls.Config{InsecureSkipVerify: true}))
	// Output:
	// registry: TLS config has InsecureSkipVerify set, which accepts any Consul certificate; unset it and put the trust chain's CA in RootCAs
}
