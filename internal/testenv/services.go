package testenv

import (
	"fmt"

	"github.com/bulwark-go/bulwark/internal/bootstrap"
)

// DefaultConsulPolicy returns the Consul ACL policy given to an extra
// service without its own: write on its own service name, read on all
// services and nodes, and operator:read for the go-micro Consul plugin's
// /v1/agent/host probe.
func DefaultConsulPolicy(name string) string {
	return fmt.Sprintf(`service %q {
  policy = "write"
}

service_prefix "" {
  policy = "read"
}

node_prefix "" {
  policy = "read"
}

operator = "read"
`, name)
}

// withExtraServices appends the extra service names of opts and applies the
// policy overrides.
func withExtraServices(services []bootstrap.Service, opts Options) ([]bootstrap.Service, error) {
	for _, name := range opts.Services {
		services = append(services, bootstrap.Service{
			Name:         name,
			Description:  "extra test service",
			ConsulPolicy: DefaultConsulPolicy(name),
		})
	}
	for name, policy := range opts.ConsulPolicies {
		found := false
		for i := range services {
			if services[i].Name == name {
				services[i].ConsulPolicy = policy
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("testenv: ConsulPolicies names %q, which is neither in services.yaml nor in Options.Services", name)
		}
	}
	if err := bootstrap.ValidateServices(services); err != nil {
		return nil, fmt.Errorf("testenv: Options.Services: %w", err)
	}
	return services, nil
}
