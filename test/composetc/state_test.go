package composetc

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The compose module starts the stack without tools/stack/compose.sh, so
// this file writes what that script writes around compose up. That is the
// mounted directories, the Redis password with its redis.conf, and the env
// file with the read-only operator tokens that bulwark verify reads.
// NOTE: keep it in step with prepare_state and write_env in compose.sh.

// Names of the operator policies, as compose.sh and `bulwark up` name them.
const (
	consulOperatorPolicy = "bulwark-operator-read"
	vaultOperatorPolicy  = "operator-read"
)

// consulOperatorRules lets the operator token read the catalog, the agents
// and Consul's operator endpoints, and write nothing.
const consulOperatorRules = `service_prefix "" {
  policy = "read"
}

node_prefix "" {
  policy = "read"
}

agent_prefix "" {
  policy = "read"
}

operator = "read"
`

var serviceNames = []string{"gateway", "users", "orders", "inventory"}

// containerUser returns the numeric user and group of the containers: the
// caller's, so the caller can read what they write, or 10001 for root.
func containerUser() (uid, gid int) {
	if os.Getuid() == 0 {
		return 10001, 10001
	}
	return os.Getuid(), os.Getgid()
}

// prepareState creates the directories that the containers mount and the
// Redis password with the redis.conf that contains it.
func (s *stack) prepareState(uid, gid int) error {
	dirs := []string{s.composeDir(), s.stateDir(), filepath.Join(s.stateDir(), "redis"), filepath.Join(s.composeDir(), "data")}
	for _, name := range serviceNames {
		dirs = append(dirs, filepath.Join(s.composeDir(), "data", name))
	}
	for _, dir := range dirs {
		if err := os.Mkdir(dir, 0o700); err != nil {
			return fmt.Errorf("prepare the stack state: %w", err)
		}
	}

	secret := make([]byte, 24)
	if _, err := rand.Read(secret); err != nil {
		return err
	}
	password := hex.EncodeToString(secret)
	if err := os.WriteFile(filepath.Join(s.stateDir(), "redis", "password"), []byte(password), 0o600); err != nil {
		return err
	}
	// Persistence is off because the rate-limit counters are short-lived.
	// Redis listens only on TLS and requires a client certificate that
	// chains to the root CA. bootstrap-certs writes the server key pair.
	config := strings.Join([]string{
		"bind 0.0.0.0",
		"port 0",
		"tls-port 6379",
		"tls-cert-file /etc/redis/server.pem",
		"tls-key-file /etc/redis/server-key.pem",
		"tls-ca-cert-file /etc/redis/ca.pem",
		"tls-auth-clients yes",
		`tls-protocols "TLSv1.3"`,
		"protected-mode yes",
		`save ""`,
		"appendonly no",
		"dir /tmp",
		`rename-command CONFIG ""`,
		`rename-command DEBUG ""`,
		`rename-command MODULE ""`,
		"requirepass " + password,
	}, "\n") + "\n"
	if err := os.WriteFile(filepath.Join(s.stateDir(), "redis", "redis.conf"), []byte(config), 0o600); err != nil {
		return err
	}

	// The containers run as uid and the bootstrap writes 0600 files, so
	// the tree must belong to that user.
	if os.Getuid() != 0 {
		return nil
	}
	return filepath.WalkDir(s.composeDir(), func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, uid, gid)
	})
}

// writeEnv writes the env file and mode file of the stack directory in the
// format of compose.sh, with fresh read-only operator tokens.
func (s *stack) writeEnv(ctx context.Context) error {
	operator := filepath.Join(s.composeDir(), "operator")
	if err := os.Mkdir(operator, 0o700); err != nil {
		return err
	}
	if err := s.createConsulOperatorToken(ctx, filepath.Join(operator, "consul.token")); err != nil {
		return err
	}
	if err := s.createVaultOperatorToken(ctx, filepath.Join(operator, "vault.token")); err != nil {
		return err
	}

	state := s.stateDir()
	lines := []string{
		"# Shell exports for the Bulwark stack in compose mode (project " + s.project + "),",
		"# written by the composetc test suite.",
		fmt.Sprintf("export BULWARK_GATEWAY_URL=https://127.0.0.1:%d", s.port),
		"export BULWARK_GATEWAY_CACERT=" + filepath.Join(state, "ca.pem"),
		"export BULWARK_STATE_DIR=" + state,
		"export CONSUL_HTTP_ADDR=" + s.subnet + ".10:8501",
		"export CONSUL_HTTP_SSL=true",
		"export CONSUL_CACERT=" + filepath.Join(state, "ca.pem"),
		"export CONSUL_CLIENT_CERT=" + filepath.Join(state, "operator", "client.pem"),
		"export CONSUL_CLIENT_KEY=" + filepath.Join(state, "operator", "client-key.pem"),
		"export CONSUL_HTTP_TOKEN_FILE=" + filepath.Join(operator, "consul.token"),
		"export VAULT_ADDR=https://" + s.subnet + ".11:8200",
		"export VAULT_CACERT=" + filepath.Join(state, "ca.pem"),
		"export BULWARK_VAULT_TOKEN_FILE=" + filepath.Join(operator, "vault.token"),
	}
	if err := os.WriteFile(s.envFile(), []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(s.dir, "mode"), []byte("compose\n"), 0o600)
}

func (s *stack) envFile() string { return filepath.Join(s.dir, "env") }

// createConsulOperatorToken creates the read-only Consul policy and a token
// with only that policy, using the management token that the bootstrap
// wrote, and stores the token's secret in path.
func (s *stack) createConsulOperatorToken(ctx context.Context, path string) error {
	client, err := s.apiClient(true)
	if err != nil {
		return err
	}
	base := "https://" + s.subnet + ".10:8501"
	management := filepath.Join(s.stateDir(), "consul", "management.token")

	policy := map[string]string{
		"Name":        consulOperatorPolicy,
		"Description": "read-only operator of the local stack",
		"Rules":       consulOperatorRules,
	}
	if err := callAPI(ctx, client, "PUT", base+"/v1/acl/policy", "X-Consul-Token", management, policy, nil); err != nil {
		return fmt.Errorf("create Consul policy %s: %w", consulOperatorPolicy, err)
	}
	token := map[string]any{
		"Description": "bulwark: read-only operator token of the composetc stack",
		"Policies":    []map[string]string{{"Name": consulOperatorPolicy}},
	}
	var created struct{ SecretID string }
	if err := callAPI(ctx, client, "PUT", base+"/v1/acl/token", "X-Consul-Token", management, token, &created); err != nil {
		return fmt.Errorf("create the Consul operator token: %w", err)
	}
	if created.SecretID == "" {
		return fmt.Errorf("create the Consul operator token: Consul returned no SecretID")
	}
	return os.WriteFile(path, []byte(created.SecretID+"\n"), 0o600)
}

// createVaultOperatorToken writes the operator-read policy from
// infra/vault/policies and creates an orphan token with only that policy.
func (s *stack) createVaultOperatorToken(ctx context.Context, path string) error {
	client, err := s.apiClient(false)
	if err != nil {
		return err
	}
	base := "https://" + s.subnet + ".11:8200"
	root := filepath.Join(s.stateDir(), "vault", "root.token")

	rules, err := os.ReadFile(filepath.Join(s.repo, "infra", "vault", "policies", vaultOperatorPolicy+".hcl"))
	if err != nil {
		return err
	}
	policy := map[string]string{"policy": string(rules)}
	if err := callAPI(ctx, client, "PUT", base+"/v1/sys/policies/acl/"+vaultOperatorPolicy, "X-Vault-Token", root, policy, nil); err != nil {
		return fmt.Errorf("write Vault policy %s: %w", vaultOperatorPolicy, err)
	}
	request := map[string]any{
		"policies":          []string{vaultOperatorPolicy},
		"no_default_policy": true,
		"ttl":               "1h",
		"display_name":      "bulwark-operator-read",
		"renewable":         true,
	}
	var created struct {
		Auth struct {
			ClientToken string `json:"client_token"`
		} `json:"auth"`
	}
	if err := callAPI(ctx, client, "POST", base+"/v1/auth/token/create-orphan", "X-Vault-Token", root, request, &created); err != nil {
		return fmt.Errorf("create the Vault operator token: %w", err)
	}
	if created.Auth.ClientToken == "" {
		return fmt.Errorf("create the Vault operator token: Vault returned no client_token")
	}
	return os.WriteFile(path, []byte(created.Auth.ClientToken+"\n"), 0o600)
}

// apiClient returns an HTTPS client that verifies against the stack's CA
// and, for Consul, presents the operator client certificate.
func (s *stack) apiClient(clientCertificate bool) (*http.Client, error) {
	roots, err := s.caPool()
	if err != nil {
		return nil, err
	}
	config := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	if clientCertificate {
		operator := filepath.Join(s.stateDir(), "operator")
		cert, err := tls.LoadX509KeyPair(filepath.Join(operator, "client.pem"), filepath.Join(operator, "client-key.pem"))
		if err != nil {
			return nil, fmt.Errorf("load the operator client certificate: %w", err)
		}
		config.Certificates = []tls.Certificate{cert}
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: config}}, nil
}

// callAPI sends body as JSON with the token read from tokenFile in header,
// and decodes the response into out when out is not nil. The token goes
// only into the request header, never into an error.
func callAPI(ctx context.Context, client *http.Client, method, url, header, tokenFile string, body, out any) error {
	token, err := os.ReadFile(tokenFile)
	if err != nil {
		return err
	}
	payload, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(payload))
	if err != nil {
		return err
	}
	req.Header.Set(header, strings.TrimSpace(string(token)))
	req.Header.Set("Content-Type", "application/json")

	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: status %d: %s", method, url, resp.StatusCode, bytes.TrimSpace(data))
	}

	if out == nil {
		return nil
	}
	return json.Unmarshal(data, out)
}
