package stack

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Services are the services of the repository's own infra/services.yaml, in
// start order. A stack starts the services that the services.yaml of its
// repository lists (see LoadServices), so a service added there starts too.
var Services = []string{"users", "inventory", "orders", "gateway"}

// defaultAdminOrder is the order of the admin ports of the shipped services:
// their order in infra/services.yaml.
var defaultAdminOrder = []string{"gateway", "users", "orders", "inventory"}

// Component names of the servers.
const (
	Consul = "consul"
	Vault  = "vault"
	Redis  = "redis"
)

// DefaultReadyTimeout bounds each wait for components to become ready. A
// start takes seconds once the binaries are built, and the bound leaves
// room for a loaded machine.
const DefaultReadyTimeout = 3 * time.Minute

// Config selects the repository, the state directory and the ports of a
// native stack.
type Config struct {
	// RepoRoot is the repository root: it contains go.mod, infra/ and
	// services/. Required.
	RepoRoot string

	// Dir is the state directory. Default: RepoRoot/.bulwark.
	Dir string

	// PortBase moves every port of the stack to PortBase plus a fixed
	// offset (see PlanPorts). Zero selects the base that the last up
	// recorded in the state directory, else the documented ports.
	PortBase int

	// ConsulBin, VaultBin and RedisBin are server binaries. Defaults:
	// BULWARK_CONSUL_BIN, BULWARK_VAULT_BIN and BULWARK_REDIS_BIN, else
	// tools/servers/ensure.sh for Consul and Vault and redis-server on PATH.
	ConsulBin, VaultBin, RedisBin string

	// ReadyTimeout bounds the wait for readiness. Default
	// DefaultReadyTimeout.
	ReadyTimeout time.Duration

	// Out receives progress lines for the person running the command.
	// Default: discard.
	Out io.Writer
}

// withDefaults returns a copy of c with unset fields defaulted.
func (c Config) withDefaults() Config {
	if c.Dir == "" && c.RepoRoot != "" {
		c.Dir = filepath.Join(c.RepoRoot, ".bulwark")
	}
	if c.ReadyTimeout == 0 {
		c.ReadyTimeout = DefaultReadyTimeout
	}
	if c.Out == nil {
		c.Out = io.Discard
	}
	return c
}

// validate checks the settings before anything starts.
func (c Config) validate() error {
	if c.RepoRoot == "" {
		return errors.New("stack: repository root is not set; run inside the Bulwark repository")
	}
	if !filepath.IsAbs(c.RepoRoot) || !filepath.IsAbs(c.Dir) {
		return fmt.Errorf("stack: repository root %q and state directory %q must be absolute paths", c.RepoRoot, c.Dir)
	}
	if _, err := os.Stat(filepath.Join(c.RepoRoot, "infra", "services.yaml")); err != nil {
		return fmt.Errorf("stack: %s is not the Bulwark repository root: %w", c.RepoRoot, err)
	}
	// The bootstrap writes these paths into HCL files, which reject quotes,
	// backslashes, dollar signs and line breaks.
	if strings.ContainsAny(c.Dir, "\"\\$\n\r") {
		return fmt.Errorf("stack: state directory %q contains a quote, backslash, dollar sign or line break; choose another", c.Dir)
	}
	if _, err := PlanPorts(c.PortBase); err != nil {
		return err
	}
	return nil
}

// modulePath identifies the repository's go.mod.
const modulePath = "module github.com/bulwark-go/bulwark\n"

// FindRepoRoot returns the nearest directory at or above dir whose go.mod
// declares the Bulwark module.
func FindRepoRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.HasPrefix(string(data), modulePath) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("stack: no Bulwark repository root found above the working directory; run the command inside the repository")
		}
		dir = parent
	}
}

// Paths names the files and directories of a state directory.
type Paths struct {
	Root     string // the state directory
	State    string // bootstrap state directory (internal/bootstrap Layout)
	Data     string // one SQLite directory per service
	Redis    string // Redis operator password and configuration
	Operator string // read-only operator tokens
	Run      string // process records and logs
	Bin      string // service binaries
	Env      string // shell exports
	Mode     string // "native" or "compose"
	Lock     string // file locked while up, down or clean runs
	Home     string // HOME of the stack's processes, for caches they write
}

// NewPaths returns the layout of the state directory dir.
func NewPaths(dir string) Paths {
	run := filepath.Join(dir, "run")
	return Paths{
		Root:     dir,
		State:    filepath.Join(dir, "state"),
		Data:     filepath.Join(dir, "data"),
		Redis:    filepath.Join(dir, "redis"),
		Operator: filepath.Join(dir, "operator"),
		Run:      run,
		Bin:      filepath.Join(dir, "bin"),
		Env:      filepath.Join(dir, "env"),
		Mode:     filepath.Join(dir, "mode"),
		Lock:     filepath.Join(run, "lock"),
		Home:     filepath.Join(dir, "home"),
	}
}

// Record is the file that records the process of a component.
func (p Paths) Record(name string) string { return filepath.Join(p.Run, name+".json") }

// Log is the log file of a component.
func (p Paths) Log(name string) string { return filepath.Join(p.Run, name+".log") }

// PortBase is the file that records the port base of the state directory.
func (p Paths) PortBase() string { return filepath.Join(p.Run, "port-base") }

// RedisPassword is the file containing the password of the Redis
// operator user (RedisOperatorUser). Each service's password is in its
// bootstrap credentials directory instead.
func (p Paths) RedisPassword() string { return filepath.Join(p.Redis, "password") }

// ConsulOperatorToken is the file containing the read-only Consul token.
func (p Paths) ConsulOperatorToken() string { return filepath.Join(p.Operator, "consul.token") }

// VaultOperatorToken is the file containing the read-only Vault token.
func (p Paths) VaultOperatorToken() string { return filepath.Join(p.Operator, "vault.token") }
