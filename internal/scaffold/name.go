package scaffold

import (
	"fmt"
	"strings"

	"github.com/bulwark-go/bulwark/platform/security/identity"
)

// reservedNames are names that a service cannot take, with the reason. The
// components of the native and compose stacks share the namespace of the
// services in process records, logs and compose services, the go command
// treats some directory names specially, and one name clashes with the
// generated code.
var reservedNames = map[string]string{
	"consul":    "the Consul server of the stack",
	"vault":     "the Vault server of the stack",
	"redis":     "the Redis server of the stack",
	"bootstrap": "the bootstrap of the stack",
	"operator":  "the read-only Redis user of the stack",
	"default":   "Redis's built-in user, which the stack turns off",
	"internal":  "the shared packages in services/internal",
	"testdata":  "a directory name that the go command ignores",
	"vendor":    "a directory name that the go command treats as vendored code",
	"new":       "the constructor New of the generated handler package, which the handler type New would clash with",
}

// ValidateName checks that name can be the name of a new service. Beyond
// identity.ValidateName (lowercase letters, digits and hyphens, starting
// with a letter, at most 63 characters), it rejects hyphens, because the
// name also becomes a Go identifier (the handler type and its endpoint
// names), and the names in reservedNames.
func ValidateName(name string) error {
	if err := identity.ValidateName(name); err != nil {
		return fmt.Errorf("scaffold: %w (a new service takes lowercase letters and digits only)", err)
	}
	if strings.Contains(name, "-") {
		return fmt.Errorf("scaffold: service name %q contains a hyphen, which a Go identifier cannot; "+
			"use lowercase letters and digits only, for example %q", name, strings.ReplaceAll(name, "-", ""))
	}
	if what, ok := reservedNames[name]; ok {
		return fmt.Errorf("scaffold: service name %q is reserved for %s; choose another name", name, what)
	}
	return nil
}

// typeName returns the Go type name of the service's handler: the name with
// its first letter in upper case, for example Payments. The endpoint names
// are <typeName>.<Method>.
func typeName(name string) string {
	return strings.ToUpper(name[:1]) + name[1:]
}
