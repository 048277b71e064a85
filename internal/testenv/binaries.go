package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Pinned server versions: the last MPL-2.0 releases of Consul and Vault.
const (
	ConsulVersion = "v1.16.3"
	VaultVersion  = "v1.14.8"
)

// server describes how to find one server binary.
type server struct {
	name     string // consul, vault or redis-server
	envVar   string
	version  string // required version on PATH; empty for redis-server
	cacheDir string // directory name under the ensure.sh cache; empty for none
	fix      string
}

var (
	consulServer = server{
		name: "consul", envVar: "BULWARK_CONSUL_BIN", version: ConsulVersion,
		cacheDir: "consul-" + ConsulVersion,
		fix:      "run `make servers` (or tools/servers/ensure.sh consul) and set BULWARK_CONSUL_BIN to the path it prints",
	}
	vaultServer = server{
		name: "vault", envVar: "BULWARK_VAULT_BIN", version: VaultVersion,
		cacheDir: "vault-" + VaultVersion,
		fix:      "run `make servers` (or tools/servers/ensure.sh vault) and set BULWARK_VAULT_BIN to the path it prints",
	}
	redisServer = server{
		name: "redis-server", envVar: "BULWARK_REDIS_BIN",
		fix: "install Debian's redis-server package (apt-get install redis-server) or set BULWARK_REDIS_BIN",
	}
)

// find returns the path of the server binary: the environment variable,
// then the ensure.sh cache, then PATH.
func (s server) find() (string, error) {
	if path := os.Getenv(s.envVar); path != "" {
		if err := executable(path); err != nil {
			return "", fmt.Errorf("testenv: %s=%s: %w; %s", s.envVar, path, err, s.fix)
		}
		return path, nil
	}
	if s.cacheDir != "" {
		cache := os.Getenv("XDG_CACHE_HOME")
		if cache == "" {
			if home, err := os.UserHomeDir(); err == nil {
				cache = filepath.Join(home, ".cache")
			}
		}
		path := filepath.Join(cache, "bulwark", "servers", s.cacheDir, s.name)
		if executable(path) == nil {
			return path, nil
		}
	}
	path, err := exec.LookPath(s.name)
	if err != nil {
		return "", fmt.Errorf("testenv: no %s binary found: %s", s.name, s.fix)
	}
	if s.version != "" {
		if err := checkVersion(path, s.version); err != nil {
			return "", fmt.Errorf("testenv: %s on PATH: %w; %s", path, err, s.fix)
		}
	}
	return path, nil
}

func executable(path string) error {
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	if info.IsDir() || info.Mode().Perm()&0o111 == 0 {
		return errors.New("not an executable file")
	}
	return nil
}

// checkVersion runs `binary version` and checks that its first line names
// the pinned version.
func checkVersion(path, version string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "version")
	cmd.Env = serverEnv(os.TempDir())
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("run %s version: %w", path, err)
	}
	first, _, _ := strings.Cut(string(out), "\n")
	if !strings.Contains(first, version+" ") && !strings.HasSuffix(first, version) {
		return fmt.Errorf("reports %q, not %s", first, version)
	}
	return nil
}
