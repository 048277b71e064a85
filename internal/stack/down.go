package stack

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Stop timeouts. Services drain in-flight calls and deregister from Consul
// before they exit, and the servers flush their state.
const (
	serviceStopTimeout = 20 * time.Second
	serverStopTimeout  = 15 * time.Second
)

// Down stops the services (in parallel), then Redis, Vault and Consul,
// each by its recorded process and only while the record still matches a
// live process. Data, credentials and logs stay.
func Down(ctx context.Context, cfg Config) error {
	s, err := newStack(cfg)
	if err != nil {
		return err
	}
	if _, err := os.Stat(s.paths.Root); errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(s.cfg.Out, "bulwark: no stack in %s; nothing to stop\n", s.paths.Root)
		return nil
	}
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	return s.down()
}

func (s *stack) down() error {
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	for _, name := range s.stopOrder() {
		wg.Go(func() {
			err := s.stopComponent(name, syscall.SIGTERM, serviceStopTimeout)
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		})
	}
	wg.Wait()
	// Consul stops last because the services deregister from it.
	errs = append(errs,
		s.stopComponent(Redis, syscall.SIGTERM, serverStopTimeout),
		s.stopComponent(Vault, syscall.SIGTERM, serverStopTimeout),
		s.stopComponent(Consul, syscall.SIGINT, serverStopTimeout))
	return errors.Join(errs...)
}

// stopOrder returns the services to stop: those of services.yaml, plus any
// service with a process record that services.yaml no longer lists, so a
// service removed from the file while it ran still stops.
func (s *stack) stopOrder() []string {
	names := slices.Clone(s.services)
	records, _ := filepath.Glob(filepath.Join(s.paths.Run, "*.json"))
	for _, record := range records {
		name := strings.TrimSuffix(filepath.Base(record), ".json")
		if !slices.Contains(names, name) && !slices.Contains([]string{Consul, Vault, Redis}, name) {
			names = append(names, name)
		}
	}
	return names
}

// stopComponent stops one recorded process and removes its record.
func (s *stack) stopComponent(name string, sig syscall.Signal, timeout time.Duration) error {
	out := s.cfg.Out
	path := s.paths.Record(name)
	r, ok, err := readRecord(path)
	if err != nil {
		return err
	}
	if !ok {
		return nil
	}
	if !r.Alive() {
		fmt.Fprintf(out, "%s: not running\n", name)
		return os.Remove(path)
	}
	killed, err := stopRecorded(r, sig, timeout)
	if err != nil {
		return err
	}
	if killed {
		fmt.Fprintf(out, "%s: killed (pid %d) after it ignored %s for %s; see %s\n", name, r.PID, sig, timeout, r.Log)
	} else {
		fmt.Fprintf(out, "%s: stopped (pid %d)\n", name, r.PID)
	}
	return os.Remove(path)
}

// stateEntries are the names that bulwark creates in a state directory.
// Clean removes a directory only when it contains nothing else, so a
// mistyped BULWARK_STACK_DIR cannot delete unrelated files.
var stateEntries = []string{"state", "data", "redis", "operator", "run", "bin", "home", "env", "env.tmp", "mode"}

// Clean stops the stack like Down and then removes the state directory:
// data, credentials, logs and binaries. It prints what it removes first.
func Clean(ctx context.Context, cfg Config) error {
	s, err := newStack(cfg)
	if err != nil {
		return err
	}
	out := s.cfg.Out

	entries, err := os.ReadDir(s.paths.Root)
	if errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(out, "bulwark: %s does not exist; nothing to clean\n", s.paths.Root)
		return nil
	}
	if err != nil {
		return fmt.Errorf("stack: %w", err)
	}
	for _, entry := range entries {
		if !slices.Contains(stateEntries, entry.Name()) {
			return fmt.Errorf("stack: %s contains %q, which bulwark does not create; remove the directory by hand if it is the stack's",
				s.paths.Root, entry.Name())
		}
	}

	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	if err := s.down(); err != nil {
		return fmt.Errorf("%w; nothing was removed", err)
	}

	fmt.Fprintf(out, "bulwark: removing %s:\n", s.paths.Root)
	fmt.Fprintln(out, "  state/     root CA and its key, server certificates, Vault unseal key and root token,")
	fmt.Fprintln(out, "             Consul management token, every service's AppRole credentials and Redis password,")
	fmt.Fprintln(out, "             Consul and Vault data")
	fmt.Fprintln(out, "  data/      SQLite databases of users, orders and inventory")
	fmt.Fprintln(out, "  redis/     Redis operator password and configuration")
	fmt.Fprintln(out, "  operator/  read-only Consul and Vault operator tokens")
	fmt.Fprintln(out, "  run/, bin/, home/, env, mode: logs, service binaries, caches and shell exports")

	if err := os.RemoveAll(s.paths.Root); err != nil {
		return fmt.Errorf("stack: remove %s: %w", s.paths.Root, err)
	}
	return nil
}

// ComponentStatus is the state of one component.
type ComponentStatus struct {
	Name    string
	Running bool
	Ready   bool
	PID     int
	Detail  string // address, or the reason it is not ready

	// Absent is true for Redis when no redis-server is installed: the
	// stack then runs without it.
	Absent bool
}

// Status returns one entry per component. It reads the process records and
// probes readiness with a short timeout.
func Status(ctx context.Context, cfg Config) ([]ComponentStatus, error) {
	s, err := newStack(cfg)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()

	probes := map[string]struct {
		address string
		probe   func(context.Context) error
	}{
		Consul: {"https://" + s.consulAddr(), s.consulReady},
		Vault:  {s.vaultAddr(), s.vaultActive},
		Redis:  {s.redisAddr(), s.redisReady},
	}
	for _, name := range s.services {
		address := "admin http://" + s.adminAddr(name)
		if name == "gateway" {
			address = s.gatewayURL() + ", " + address
		}
		probes[name] = struct {
			address string
			probe   func(context.Context) error
		}{address, func(ctx context.Context) error { return s.serviceReady(ctx, name) }}
	}

	var statuses []ComponentStatus
	for _, name := range append([]string{Consul, Vault, Redis}, s.services...) {
		r, alive, err := s.record(name)
		if err != nil {
			return nil, err
		}
		status := ComponentStatus{Name: name, Running: alive, PID: r.PID}
		if alive {
			status.Detail = probes[name].address
			if err := probes[name].probe(ctx); err != nil {
				status.Detail = "not ready: " + err.Error()
			} else {
				status.Ready = true
			}
		} else if name == Redis {
			if bin, _ := redisBinary(); bin == "" && s.cfg.RedisBin == "" {
				status.Detail = "not installed: rate limits stay in memory"
				status.Absent = true
			}
		}
		statuses = append(statuses, status)
	}
	return statuses, nil
}
