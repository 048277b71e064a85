package boot

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// secretWords are the parts of a variable name, split at underscores, that
// mark its value as a secret: VAULT_TOKEN, CONSUL_HTTP_TOKEN,
// BULWARK_RATELIMIT_REDIS_PASSWORD, APP_CLIENT_SECRET.
var secretWords = []string{"TOKEN", "PASSWORD", "PASSWD", "SECRET", "SECRETS", "CREDENTIALS"}

// secretPairs are adjacent parts that mark a secret: API_KEY, PRIVATE_KEY.
var secretPairs = [][2]string{{"API", "KEY"}, {"PRIVATE", "KEY"}, {"ACCESS", "KEY"}, {"SECRET", "KEY"}}

// secretNames are whole names of secrets that secretWords miss: the
// user:password of Consul's HTTP basic authentication and the password of
// redis-cli.
var secretNames = []string{"CONSUL_HTTP_AUTH", "REDISCLI_AUTH"}

// pathSuffixes end the names of variables that hold a path to a secret,
// which is how secrets reach a service: BULWARK_SECRET_ID_FILE.
var pathSuffixes = []string{"FILE", "PATH", "DIR"}

// isSecretName reports whether a variable name looks like it holds a
// secret value rather than the path of a secret file.
func isSecretName(name string) bool {
	parts := strings.Split(strings.ToUpper(name), "_")
	if slices.Contains(pathSuffixes, parts[len(parts)-1]) {
		return false
	}
	if slices.Contains(secretNames, strings.ToUpper(name)) {
		return true
	}
	for i, part := range parts {
		if slices.Contains(secretWords, part) {
			return true
		}
		if i > 0 && slices.Contains(secretPairs, [2]string{parts[i-1], part}) {
			return true
		}
	}
	return false
}

// checkSecretValues rejects every non-empty variable whose name looks like
// a secret. The value is visible to every process that can read the
// service's /proc/<pid>/environ, to child processes and to crash reports,
// whether or not the service reads it. The message names the variable and
// never its value.
func checkSecretValues(c *productionCheck, environ []string) {
	seen := map[string]bool{}
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		if seen[name] || strings.TrimSpace(value) == "" || !isSecretName(name) {
			continue
		}
		seen[name] = true
		c.reject(name, "a secret is set as an environment value, which other processes, child processes and "+
			"crash reports can read",
			fmt.Sprintf("unset it, write the secret to a file readable only by the service and pass the "+
				"file's path (the services read their secrets only from %s, %s and "+
				"BULWARK_RATELIMIT_REDIS_PASSWORD_FILE)", EnvRoleIDFile, EnvSecretIDFile))
	}
}

// checkTransportVariables rejects the VAULT_* and CONSUL_* variables that
// turn TLS or its verification off. The services ignore them, because
// vaultclient and registry set every field of their clients, but the vault
// and consul commands and other programs in the same environment obey
// them, and their presence shows a deployment that was configured for
// plaintext.
func checkTransportVariables(c *productionCheck, environ []string) {
	const ignored = "which the service ignores but the vault and consul commands and other clients in this " +
		"environment obey"
	if value, ok := envValue(environ, "VAULT_ADDR"); ok && !strings.HasPrefix(strings.TrimSpace(value), "https://") {
		c.reject("VAULT_ADDR", "is not an https:// URL, "+ignored,
			"unset it or set an https:// URL (the service reads Vault's address from "+EnvVaultAddr+")")
	}
	if isTrue(environ, "VAULT_SKIP_VERIFY") {
		c.reject("VAULT_SKIP_VERIFY", "turns off the verification of Vault's certificate, "+ignored,
			"unset it and set VAULT_CACERT to the root CA file")
	}
	if value, ok := envValue(environ, "CONSUL_HTTP_ADDR"); ok && strings.HasPrefix(strings.TrimSpace(value), "http://") {
		c.reject("CONSUL_HTTP_ADDR", "has the plaintext scheme http://, "+ignored,
			"unset it or use host:port of Consul's HTTPS listener with CONSUL_HTTP_SSL=true (the service "+
				"reads Consul's address from "+EnvConsulAddr+")")
	}
	if isFalse(environ, "CONSUL_HTTP_SSL") {
		c.reject("CONSUL_HTTP_SSL", "selects plaintext HTTP to Consul, "+ignored, "unset it or set it to true")
	}
	if isFalse(environ, "CONSUL_HTTP_SSL_VERIFY") {
		c.reject("CONSUL_HTTP_SSL_VERIFY", "turns off the verification of Consul's certificate, "+ignored,
			"unset it and set CONSUL_CACERT to the root CA file")
	}
}

// isTrue reports whether name is set to a value that strconv.ParseBool
// reads as true, which is how the Vault and Consul API clients read their
// boolean variables.
func isTrue(environ []string, name string) bool {
	value, ok := envValue(environ, name)
	b, err := strconv.ParseBool(strings.TrimSpace(value))
	return ok && err == nil && b
}

// isFalse reports whether name is set to a value that strconv.ParseBool
// reads as false.
func isFalse(environ []string, name string) bool {
	value, ok := envValue(environ, name)
	b, err := strconv.ParseBool(strings.TrimSpace(value))
	return ok && err == nil && !b
}
