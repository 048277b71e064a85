package verify

import (
	"strings"
	"testing"
)

// nativeEnv is an env file in the form that internal/stack writes.
const nativeEnv = `# Shell exports for the Bulwark stack in native mode, written by bulwark up.
export BULWARK_GATEWAY_URL='https://127.0.0.1:8443'
export BULWARK_GATEWAY_CACERT='/srv/it'\''s here/state/ca.pem'

export BULWARK_STATE_DIR='/srv/b/state'
export CONSUL_HTTP_ADDR='127.0.0.1:8501'
export CONSUL_HTTP_SSL=true
export CONSUL_CACERT='/srv/b/state/ca.pem'
export CONSUL_CLIENT_CERT='/srv/b/state/operator/client.pem'
export CONSUL_CLIENT_KEY='/srv/b/state/operator/client-key.pem'
export CONSUL_HTTP_TOKEN_FILE='/srv/b/operator/consul.token'
#   export VAULT_TOKEN="$(cat "$BULWARK_VAULT_TOKEN_FILE")"
export VAULT_ADDR='https://127.0.0.1:8200'
export VAULT_CACERT='/srv/b/state/ca.pem'
export BULWARK_VAULT_TOKEN_FILE='/srv/b/operator/vault.token'
`

// composeEnv is an env file in the form that tools/stack/compose.sh writes.
const composeEnv = `export BULWARK_GATEWAY_URL=https://127.0.0.1:8443
export BULWARK_GATEWAY_CACERT=/srv/c/state/ca.pem
export BULWARK_STATE_DIR=/srv/c/state
export CONSUL_HTTP_ADDR=172.30.53.10:8501
export CONSUL_HTTP_SSL=true
export CONSUL_CACERT=/srv/c/state/ca.pem
export CONSUL_CLIENT_CERT=/srv/c/state/operator/client.pem
export CONSUL_CLIENT_KEY=/srv/c/state/operator/client-key.pem
export CONSUL_HTTP_TOKEN_FILE=/srv/c/operator/consul.token
export VAULT_ADDR=https://172.30.53.11:8200
export VAULT_CACERT=/srv/c/state/ca.pem
export BULWARK_VAULT_TOKEN_FILE=/srv/c/operator/vault.token
`

func TestParseEnvNative(t *testing.T) {
	env, err := ParseEnv(nativeEnv)
	if err != nil {
		t.Fatal(err)
	}
	if env.GatewayCAFile != "/srv/it's here/state/ca.pem" {
		t.Errorf("GatewayCAFile = %q, want the quoted path with its quote", env.GatewayCAFile)
	}
	if env.StateDir != "/srv/b/state" {
		t.Errorf("StateDir = %q", env.StateDir)
	}
	if env.ConsulAddr != "127.0.0.1:8501" {
		t.Errorf("ConsulAddr = %q", env.ConsulAddr)
	}
	if env.VaultTokenFile != "/srv/b/operator/vault.token" {
		t.Errorf("VaultTokenFile = %q", env.VaultTokenFile)
	}
}

func TestParseEnvCompose(t *testing.T) {
	env, err := ParseEnv(composeEnv)
	if err != nil {
		t.Fatal(err)
	}
	if env.VaultAddr != "https://172.30.53.11:8200" {
		t.Errorf("VaultAddr = %q", env.VaultAddr)
	}
	if env.ConsulTokenFile != "/srv/c/operator/consul.token" {
		t.Errorf("ConsulTokenFile = %q", env.ConsulTokenFile)
	}
}

func TestParseEnvErrors(t *testing.T) {
	tests := []struct {
		desc, text, want string
	}{
		{"missing variable", strings.Replace(composeEnv, "export BULWARK_STATE_DIR=/srv/c/state\n", "", 1),
			"missing BULWARK_STATE_DIR"},
		{"command substitution", strings.Replace(composeEnv, "=/srv/c/state\n", "=$(id)\n", 1), "needs a shell"},
		{"variable expansion", strings.Replace(composeEnv, "=/srv/c/state\n", "=$HOME/state\n", 1), "needs a shell"},
		{"unterminated quote", strings.Replace(composeEnv, "=/srv/c/state\n", "='/srv/c\n", 1), "unterminated quote"},
		{"no equals sign", composeEnv + "export BULWARK_STATE_DIR\n", "not export NAME=VALUE"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			_, err := ParseEnv(tt.text)
			if err == nil {
				t.Fatal("ParseEnv returned no error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestReadEnvMissingFile(t *testing.T) {
	_, err := ReadEnv(t.TempDir() + "/env")
	if err == nil || !strings.Contains(err.Error(), "make up") {
		t.Errorf("ReadEnv of a missing file = %v, want an error that names make up", err)
	}
}
