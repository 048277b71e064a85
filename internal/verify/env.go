package verify

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strings"
)

// Env is the part of a stack's env file that the checks use.
type Env struct {
	GatewayURL      string // BULWARK_GATEWAY_URL
	GatewayCAFile   string // BULWARK_GATEWAY_CACERT
	StateDir        string // BULWARK_STATE_DIR: bootstrap state with the CA and AppRoles
	ConsulAddr      string // CONSUL_HTTP_ADDR, host:port of Consul's HTTPS API
	ConsulCAFile    string // CONSUL_CACERT
	ConsulCertFile  string // CONSUL_CLIENT_CERT
	ConsulKeyFile   string // CONSUL_CLIENT_KEY
	ConsulTokenFile string // CONSUL_HTTP_TOKEN_FILE: read-only operator token
	VaultAddr       string // VAULT_ADDR, https://host:port
	VaultCAFile     string // VAULT_CACERT
	VaultTokenFile  string // BULWARK_VAULT_TOKEN_FILE: read-only operator token
}

// required lists the variables of Env with the field each one sets.
func (e *Env) required() map[string]*string {
	return map[string]*string{
		"BULWARK_GATEWAY_URL":      &e.GatewayURL,
		"BULWARK_GATEWAY_CACERT":   &e.GatewayCAFile,
		"BULWARK_STATE_DIR":        &e.StateDir,
		"CONSUL_HTTP_ADDR":         &e.ConsulAddr,
		"CONSUL_CACERT":            &e.ConsulCAFile,
		"CONSUL_CLIENT_CERT":       &e.ConsulCertFile,
		"CONSUL_CLIENT_KEY":        &e.ConsulKeyFile,
		"CONSUL_HTTP_TOKEN_FILE":   &e.ConsulTokenFile,
		"VAULT_ADDR":               &e.VaultAddr,
		"VAULT_CACERT":             &e.VaultCAFile,
		"BULWARK_VAULT_TOKEN_FILE": &e.VaultTokenFile,
	}
}

// ReadEnv reads and parses the env file at path.
func ReadEnv(path string) (Env, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Env{}, fmt.Errorf("verify: read the env file: %w; start the stack with make up, or pass -env", err)
	}
	env, err := ParseEnv(string(data))
	if err != nil {
		return Env{}, fmt.Errorf("verify: env file %s: %w", path, err)
	}
	return env, nil
}

// ParseEnv parses the `export NAME=VALUE` lines of an env file without a
// shell. A value is a bare word or a single-quoted POSIX word (with '\”
// for a quote), as the two env writers produce. Comments, blank lines and
// unknown names are skipped. Every variable of Env is required.
func ParseEnv(text string) (Env, error) {
	var env Env
	fields := env.required()
	scanner := bufio.NewScanner(strings.NewReader(text))
	for number := 1; scanner.Scan(); number++ {
		line := strings.TrimSpace(scanner.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		rest, ok := strings.CutPrefix(line, "export ")
		if !ok {
			continue
		}
		name, word, ok := strings.Cut(strings.TrimSpace(rest), "=")
		if !ok {
			return Env{}, fmt.Errorf("line %d: %q is not export NAME=VALUE", number, line)
		}
		field, known := fields[name]
		if !known {
			continue
		}
		value, err := unquote(word)
		if err != nil {
			return Env{}, fmt.Errorf("line %d: %s: %w", number, name, err)
		}
		*field = value
	}
	if err := scanner.Err(); err != nil {
		return Env{}, err
	}
	var missing []string
	for name, field := range fields {
		if *field == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return Env{}, fmt.Errorf("missing %s; restart the stack with make up to rewrite the file", strings.Join(missing, ", "))
	}
	return env, nil
}

// unquote returns the value of one shell word: a run of single-quoted parts
// and bare characters without spaces, quotes, backslashes or expansions.
func unquote(word string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(word); {
		c := word[i]
		switch {
		case c == '\'':
			end := strings.IndexByte(word[i+1:], '\'')
			if end < 0 {
				return "", fmt.Errorf("value %q has an unterminated quote", word)
			}
			b.WriteString(word[i+1 : i+1+end])
			i += end + 2
		case c == '\\' && i+1 < len(word) && word[i+1] == '\'':
			b.WriteByte('\'')
			i += 2
		case strings.IndexByte(" \t\"\\$`;&|<>(){}*?", c) >= 0:
			return "", fmt.Errorf("value %q needs a shell to expand; write it as a single-quoted word", word)
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String(), nil
}

// DefaultEnvFile is the env file that make up writes at the repository root.
const DefaultEnvFile = ".bulwark/env"
