package bootstrap

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"

	"github.com/bulwark-go/bulwark/platform/security/identity"
)

// Service is one entry of infra/services.yaml: a service that receives its
// own PKI role, AppRole, Vault policy, Consul ACL policy and Consul role.
type Service struct {
	// Name is the service name, which is also the name of its Vault PKI
	// role, AppRole and Consul secrets-engine role. It must pass
	// identity.ValidateName.
	Name string `yaml:"name"`

	// Description is a short human-readable summary, stored with the
	// service's Consul ACL policy.
	Description string `yaml:"description"`

	// ConsulPolicyFile is the path of the service's Consul ACL policy
	// (HCL), relative to the infra directory. Optional: the default is
	// consul/policies/<name>.hcl.
	ConsulPolicyFile string `yaml:"consul_policy"`

	// ConsulPolicy is the policy text itself. When set, ConsulPolicyFile is
	// not read. Test harnesses use it for services that have no policy file.
	ConsulPolicy string `yaml:"-"`
}

// servicesFile is the layout of infra/services.yaml.
type servicesFile struct {
	Services []Service `yaml:"services"`
}

// LoadServices reads the list of services from a services.yaml file. It
// rejects unknown keys, invalid and duplicate names, and an empty list.
func LoadServices(path string) ([]Service, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("bootstrap: read services file: %w", err)
	}
	return ParseServices(data, path)
}

// ParseServices parses the contents of a services.yaml file; source names
// the file in error messages.
func ParseServices(data []byte, source string) ([]Service, error) {
	decoder := yaml.NewDecoder(bytes.NewReader(data))
	decoder.KnownFields(true)
	var file servicesFile
	if err := decoder.Decode(&file); err != nil {
		return nil, fmt.Errorf("bootstrap: parse %s: %w", source, err)
	}
	if len(file.Services) == 0 {
		return nil, fmt.Errorf("bootstrap: %s lists no services; add entries under the services key", source)
	}
	if err := ValidateServices(file.Services); err != nil {
		return nil, fmt.Errorf("bootstrap: %s: %w", source, err)
	}
	return file.Services, nil
}

// ValidateServices checks every service name and rejects duplicates and
// policy paths that leave the infra directory.
func ValidateServices(services []Service) error {
	seen := make(map[string]bool, len(services))
	for i, service := range services {
		if err := identity.ValidateName(service.Name); err != nil {
			return fmt.Errorf("service %d: %w", i+1, err)
		}
		if seen[service.Name] {
			return fmt.Errorf("service %q is listed twice; remove one entry", service.Name)
		}
		seen[service.Name] = true
		policy := service.ConsulPolicyFile
		if policy != "" && (filepath.IsAbs(policy) || !filepath.IsLocal(policy)) {
			return fmt.Errorf("service %q: consul_policy %q must be a relative path inside the infra directory",
				service.Name, policy)
		}
	}
	return nil
}

// consulPolicyText returns the service's Consul ACL policy, reading it from
// the infra directory unless the service carries the text itself.
func (s Service) consulPolicyText(infraDir string) (string, error) {
	if s.ConsulPolicy != "" {
		return s.ConsulPolicy, nil
	}
	rel := s.ConsulPolicyFile
	if rel == "" {
		rel = filepath.Join("consul", "policies", s.Name+".hcl")
	}
	path := filepath.Join(infraDir, rel)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("service %q has no Consul ACL policy: create %s", s.Name, path)
	}
	if err != nil {
		return "", fmt.Errorf("read Consul ACL policy of service %q: %w", s.Name, err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return "", fmt.Errorf("Consul ACL policy %s of service %q is empty", path, s.Name)
	}
	return string(data), nil
}
