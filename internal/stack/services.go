package stack

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// buildServices builds the named service binaries into the bin directory
// with one go build, as static binaries (CGO_ENABLED=0).
func (s *stack) buildServices(ctx context.Context, names []string) error {
	args := []string{"build", "-o", s.paths.Bin + string(filepath.Separator)}
	for _, name := range names {
		args = append(args, "./services/"+name)
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = s.cfg.RepoRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	output, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("stack: go %s failed: %w\n%s", strings.Join(args, " "), err, strings.TrimSpace(string(output)))
	}
	return nil
}

// serviceEnv returns the environment of a service: the variables of the
// run contract, each secret as a file path, and nothing from the caller's
// shell besides PATH.
func (s *stack) serviceEnv(name string, withRedis bool) []string {
	infra := filepath.Join(s.cfg.RepoRoot, "infra")
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + s.paths.Home,
		"BULWARK_VAULT_ADDR=" + s.vaultAddr(),
		"BULWARK_CONSUL_ADDR=" + s.consulAddr(),
		"BULWARK_CA_FILE=" + s.layout.CACert,
		"BULWARK_ROLE_ID_FILE=" + s.layout.ServiceRoleID(name),
		"BULWARK_SECRET_ID_FILE=" + s.layout.ServiceSecretID(name),
		"BULWARK_AUTHZ_FILE=" + filepath.Join(infra, "authz.yaml"),
		"BULWARK_LISTEN=127.0.0.1:0",
		"BULWARK_ADMIN_LISTEN=" + s.adminAddr(name),
		"BULWARK_LOG_LEVEL=info",
	}
	if name != "gateway" {
		env = append(env, "BULWARK_DATA_DIR="+filepath.Join(s.paths.Data, name))
	}
	if limits := filepath.Join(infra, "ratelimit", name+".yaml"); fileExists(limits) {
		env = append(env, "BULWARK_RATELIMIT_FILE="+limits)
	}
	if withRedis {
		env = append(env,
			"BULWARK_RATELIMIT_STORE_BACKEND=redis",
			"BULWARK_RATELIMIT_REDIS_ADDR="+s.redisAddr(),
			// Each service logs in as its own ACL user, which reaches only
			// keys under bulwark:ratelimit:<name>:.
			"BULWARK_RATELIMIT_REDIS_USERNAME="+name,
			"BULWARK_RATELIMIT_REDIS_PASSWORD_FILE="+s.redisServicePassword(name),
			"BULWARK_RATELIMIT_REDIS_TLS=true",
		)
	}
	if name == "gateway" {
		env = append(env,
			"BULWARK_GATEWAY_LISTEN="+net.JoinHostPort("127.0.0.1", strconv.Itoa(s.ports.Gateway)),
			"BULWARK_GATEWAY_TLS_CERT_FILE="+s.layout.GatewayCert,
			"BULWARK_GATEWAY_TLS_KEY_FILE="+s.layout.GatewayKey,
		)
	}
	return env
}

func (s *stack) startService(name string, withRedis bool) (*started, error) {
	if err := os.MkdirAll(filepath.Join(s.paths.Data, name), 0o700); err != nil {
		return nil, fmt.Errorf("stack: create data directory of %s: %w", name, err)
	}
	bin := filepath.Join(s.paths.Bin, name)
	return startDetached(name, bin, nil, s.serviceEnv(name, withRedis), s.paths.Home, s.paths.Log(name), s.paths.Record(name))
}

// serviceReady succeeds when the service's /readyz returns 200: the
// service is registered in Consul with its certificate loaded.
func (s *stack) serviceReady(ctx context.Context, name string) error {
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	request, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.adminAddr(name)+"/readyz", nil)
	if err != nil {
		return err
	}
	response, err := client.Do(request)
	if err != nil {
		return err
	}
	response.Body.Close()
	if response.StatusCode != http.StatusOK {
		return fmt.Errorf("/readyz returned HTTP %d", response.StatusCode)
	}
	return nil
}

func (s *stack) adminAddr(name string) string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.ports.Admin[name]))
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
