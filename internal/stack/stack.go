package stack

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/bulwark-go/bulwark/internal/bootstrap"
)

// stack is one native stack: its settings, files and ports.
type stack struct {
	cfg          Config
	recordedBase int // port base of the last up, or -1
	paths        Paths
	ports        Ports
	layout       bootstrap.Layout
	// services are the services of infra/services.yaml in start order.
	services []string
}

func newStack(cfg Config) (*stack, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	paths := NewPaths(cfg.Dir)
	recorded, found, err := readPortBase(paths.PortBase())
	if err != nil {
		return nil, err
	}
	if !found {
		recorded = -1
	} else if cfg.PortBase == 0 {
		cfg.PortBase = recorded
	}
	listed, err := LoadServices(cfg.RepoRoot)
	if err != nil {
		return nil, err
	}
	ports, err := PlanServicePorts(cfg.PortBase, listed)
	if err != nil {
		return nil, err
	}
	return &stack{
		cfg: cfg, recordedBase: recorded, paths: paths, ports: ports, layout: bootstrap.NewLayout(paths.State),
		services: startOrder(listed),
	}, nil
}

// LoadServices returns the service names of infra/services.yaml in the
// repository repoRoot, in the order of the file. That order assigns the
// admin ports.
func LoadServices(repoRoot string) ([]string, error) {
	path := filepath.Join(repoRoot, "infra", "services.yaml")
	services, err := bootstrap.LoadServices(path)
	if err != nil {
		return nil, fmt.Errorf("stack: %w", err)
	}
	names := make([]string, 0, len(services))
	for _, service := range services {
		if slices.Contains([]string{Consul, Vault, Redis, "bootstrap"}, service.Name) {
			return nil, fmt.Errorf("stack: %s lists a service named %s, which is a component of the stack; rename the service",
				path, service.Name)
		}
		names = append(names, service.Name)
	}
	return names, nil
}

// startOrder returns the services in start order: the shipped services in
// the order of Services, then the others in the order of services.yaml,
// and the gateway last, because it is the entry point that calls the
// others.
func startOrder(listed []string) []string {
	rank := func(name string) int {
		switch i := slices.Index(Services, name); {
		case name == "gateway":
			return 2
		case i >= 0:
			return 0
		default:
			return 1
		}
	}
	order := slices.Clone(listed)
	slices.SortStableFunc(order, func(a, b string) int {
		if rank(a) == 0 && rank(b) == 0 {
			return slices.Index(Services, a) - slices.Index(Services, b)
		}
		return rank(a) - rank(b)
	})
	return order
}

// bootstrapConfig returns the bootstrap settings of the stack: every server
// on 127.0.0.1 at the stack's ports. The report and the log go to the
// bootstrap log file, which never receives a secret.
func (s *stack) bootstrapConfig(logFile *os.File) bootstrap.Config {
	vaultListen := fmt.Sprintf("127.0.0.1:%d", s.ports.Vault)
	return bootstrap.Config{
		StateDir: s.paths.State,
		InfraDir: filepath.Join(s.cfg.RepoRoot, "infra"),
		Consul: bootstrap.ConsulSettings{
			Address:     s.consulAddr(),
			HTTPSPort:   s.ports.ConsulHTTPS,
			SerfLANPort: s.ports.ConsulSerf,
			ServerPort:  s.ports.ConsulServer,
		},
		Vault: bootstrap.VaultSettings{
			Address:     "https://" + vaultListen,
			ListenAddr:  vaultListen,
			ClusterAddr: fmt.Sprintf("127.0.0.1:%d", s.ports.VaultCluster),
		},
		Log:    slog.New(slog.NewTextHandler(logFile, nil)).With("component", "bootstrap"),
		Report: logFile,
	}
}

// readPortBase returns the port base recorded in path, if any.
func readPortBase(path string) (base int, found bool, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("stack: %w", err)
	}
	base, err = strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		return 0, false, fmt.Errorf("stack: %s contains %q, not a port base; delete it if the stack uses the default ports", path, data)
	}
	return base, true, nil
}

// makeDirs creates the state directory and its subdirectories with mode
// 0700, and tightens the mode of existing ones.
func (s *stack) makeDirs() error {
	for _, dir := range []string{s.paths.Root, s.paths.Run, s.paths.Data, s.paths.Redis, s.paths.Operator, s.paths.Bin, s.paths.Home} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("stack: create %s: %w", dir, err)
		}
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("stack: set mode of %s: %w", dir, err)
		}
	}
	return nil
}

// lock takes an exclusive lock on the run directory, so two commands never
// start or stop the same stack at once. The lock ends with the returned
// function or the process.
func (s *stack) lock() (func(), error) {
	if err := os.MkdirAll(s.paths.Run, 0o700); err != nil {
		return nil, fmt.Errorf("stack: create %s: %w", s.paths.Run, err)
	}
	f, err := os.OpenFile(s.paths.Lock, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("stack: open lock %s: %w", s.paths.Lock, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("stack: another bulwark up, down or clean is running on %s; wait for it to finish", s.paths.Root)
	}
	return func() { f.Close() }, nil
}

// record returns the process record of a component and whether that
// process still runs.
func (s *stack) record(name string) (Record, bool, error) {
	r, ok, err := readRecord(s.paths.Record(name))
	if err != nil || !ok {
		return Record{}, false, err
	}
	return r, r.Alive(), nil
}
