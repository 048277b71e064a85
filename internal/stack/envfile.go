package stack

import (
	"fmt"
	"os"
	"strings"
)

// envTemplate is the text of the env file. Every value is a quoted shell
// word; no value is a secret, only the paths of secret files.
const envTemplate = `# Shell exports for the Bulwark stack in native mode, written by bulwark up.
# Load them with:  source %[1]s
export BULWARK_GATEWAY_URL=%[2]s
export BULWARK_GATEWAY_CACERT=%[3]s

# Bootstrap state (CA, AppRole credentials) that bulwark verify reads.
export BULWARK_STATE_DIR=%[10]s

# consul CLI: HTTPS with the operator client certificate and a read-only
# ACL token read from a file.
export CONSUL_HTTP_ADDR=%[4]s
export CONSUL_HTTP_SSL=true
export CONSUL_CACERT=%[3]s
export CONSUL_CLIENT_CERT=%[5]s
export CONSUL_CLIENT_KEY=%[6]s
export CONSUL_HTTP_TOKEN_FILE=%[7]s

# vault CLI. BULWARK_VAULT_TOKEN_FILE names a read-only token (policy
# operator-read). The vault CLI takes no token file, so load the token
# without printing it, either into the CLI's token helper (~/.vault-token):
#   vault login -no-print - < "$BULWARK_VAULT_TOKEN_FILE"
# or into this shell only:
#   export VAULT_TOKEN="$(cat "$BULWARK_VAULT_TOKEN_FILE")"
export VAULT_ADDR=%[8]s
export VAULT_CACERT=%[3]s
export BULWARK_VAULT_TOKEN_FILE=%[9]s
`

// writeEnv writes the env file of the running stack.
func (s *stack) writeEnv() error {
	text := fmt.Sprintf(envTemplate,
		shellQuote(s.paths.Env),
		shellQuote(s.gatewayURL()),
		shellQuote(s.layout.CACert),
		shellQuote(s.consulAddr()),
		shellQuote(s.layout.OperatorCert),
		shellQuote(s.layout.OperatorKey),
		shellQuote(s.paths.ConsulOperatorToken()),
		shellQuote(s.vaultAddr()),
		shellQuote(s.paths.VaultOperatorToken()),
		shellQuote(s.paths.State),
	)
	tmp := s.paths.Env + ".tmp"
	if err := os.WriteFile(tmp, []byte(text), 0o600); err != nil {
		return fmt.Errorf("stack: write env file: %w", err)
	}
	if err := os.Rename(tmp, s.paths.Env); err != nil {
		return fmt.Errorf("stack: write env file: %w", err)
	}
	return nil
}

// shellQuote returns value as one single-quoted POSIX shell word.
func shellQuote(value string) string {
	return "'" + strings.ReplaceAll(value, "'", `'\''`) + "'"
}
