package stack

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/bulwark-go/bulwark/internal/bootstrap"
)

// ModeNative is the content of the mode file of a native stack.
const ModeNative = "native"

// Up starts every component of the stack that is not running, runs the
// bootstrap, waits until every component is ready and writes the env file.
// Components that already run are left alone, so a second Up on a healthy
// stack changes nothing.
func Up(ctx context.Context, cfg Config) error {
	s, err := newStack(cfg)
	if err != nil {
		return err
	}
	out := s.cfg.Out
	began := time.Now()
	if err := s.makeDirs(); err != nil {
		return err
	}
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	if err := os.WriteFile(s.paths.Mode, []byte(ModeNative+"\n"), 0o600); err != nil {
		return fmt.Errorf("stack: write mode file: %w", err)
	}
	if err := s.checkPortBase(); err != nil {
		return err
	}
	if err := os.WriteFile(s.paths.PortBase(), []byte(strconv.Itoa(s.cfg.PortBase)+"\n"), 0o600); err != nil {
		return fmt.Errorf("stack: write port base: %w", err)
	}
	fmt.Fprintf(out, "bulwark: mode native (state in %s)\n", s.paths.Root)

	redisBin, err := redisBinary()
	if err != nil {
		return err
	}
	if s.allReady(ctx, redisBin != "") {
		if err := s.writeEnv(); err != nil {
			return err
		}
		fmt.Fprintln(out, "bulwark: the stack is already up; nothing to start")
		s.printSummary()
		return nil
	}

	if err := s.upServers(ctx); err != nil {
		return err
	}
	withRedis, err := s.upRedis(ctx, redisBin)
	if err != nil {
		return err
	}
	if err := s.upServices(ctx, withRedis); err != nil {
		return err
	}
	if err := s.writeEnv(); err != nil {
		return err
	}
	fmt.Fprintf(out, "bulwark: the stack is up after %s\n", time.Since(began).Round(100*time.Millisecond))
	s.printSummary()
	return nil
}

// checkPortBase rejects a port base other than that of the running
// components, which listen on the ports of the recorded base.
func (s *stack) checkPortBase() error {
	if s.recordedBase < 0 || s.recordedBase == s.cfg.PortBase {
		return nil
	}
	for _, name := range append([]string{Consul, Vault, Redis}, s.services...) {
		r, alive, err := s.record(name)
		if err != nil {
			return err
		}
		if alive {
			return fmt.Errorf("stack: %s (pid %d) runs on the ports of port base %d, not %d; "+
				"run bulwark down first, or set BULWARK_PORT_BASE=%d", name, r.PID, s.recordedBase, s.cfg.PortBase, s.recordedBase)
		}
	}
	return nil
}

// allReady reports whether every component runs and passes its readiness
// probe. Redis counts only when its binary exists.
func (s *stack) allReady(ctx context.Context, withRedis bool) bool {
	names := append([]string{Consul, Vault}, s.services...)
	if withRedis {
		names = append(names, Redis)
	}
	for _, name := range names {
		if _, alive, err := s.record(name); err != nil || !alive {
			return false
		}
	}
	probeCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if s.consulReady(probeCtx) != nil || s.vaultActive(probeCtx) != nil {
		return false
	}
	if withRedis && s.redisReady(probeCtx) != nil {
		return false
	}
	for _, name := range s.services {
		if s.serviceReady(probeCtx, name) != nil {
			return false
		}
	}
	return true
}

// upServers starts Consul and Vault where needed and runs both bootstrap
// phases, which unseal a restarted Vault, and writes the operator tokens.
func (s *stack) upServers(ctx context.Context) error {
	out := s.cfg.Out
	logFile, err := os.OpenFile(s.paths.Log("bootstrap"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("stack: open bootstrap log: %w", err)
	}
	defer logFile.Close()
	bootstrapConfig := s.bootstrapConfig(logFile)

	result, err := bootstrap.Certs(ctx, bootstrapConfig)
	if err != nil {
		return fmt.Errorf("stack: bootstrap certs: %w (log: %s)", err, logFile.Name())
	}
	fmt.Fprintf(out, "bootstrap certs: %d changes\n", result.Count())

	var consul, vault *started
	for _, server := range []struct {
		name   string
		envVar string
		start  func(string) (*started, error)
		into   **started
	}{
		{Consul, "BULWARK_CONSUL_BIN", s.startConsul, &consul},
		{Vault, "BULWARK_VAULT_BIN", s.startVault, &vault},
	} {
		r, alive, err := s.record(server.name)
		if err != nil {
			return err
		}
		if alive {
			fmt.Fprintf(out, "%s: already running (pid %d)\n", server.name, r.PID)
			continue
		}
		if err := s.checkPorts(server.name); err != nil {
			return err
		}
		bin, err := s.serverBin(ctx, server.name, server.envVar)
		if err != nil {
			return err
		}
		p, err := server.start(bin)
		if err != nil {
			return err
		}
		*server.into = p
		fmt.Fprintf(out, "%s: started (pid %d, log %s)\n", server.name, p.PID, p.Log)
	}

	waitCtx, cancel := context.WithTimeout(ctx, s.cfg.ReadyTimeout)
	defer cancel()
	if err := waitReady(waitCtx, Consul, s.paths.Log(Consul), exitedOf(consul), s.consulReady); err != nil {
		return err
	}
	if err := waitReady(waitCtx, Vault, s.paths.Log(Vault), exitedOf(vault), s.vaultListening); err != nil {
		return err
	}

	result, err = bootstrap.Configure(waitCtx, bootstrapConfig)
	if err != nil {
		return fmt.Errorf("stack: bootstrap configure: %w (log: %s)", err, logFile.Name())
	}
	fmt.Fprintf(out, "bootstrap configure: %d changes\n", result.Count())
	if err := waitReady(waitCtx, Vault, s.paths.Log(Vault), exitedOf(vault), s.vaultActive); err != nil {
		return err
	}
	return s.ensureOperatorTokens(waitCtx)
}

// serverBin returns the binary of Consul or Vault: Config's, else
// BULWARK_*_BIN or tools/servers/ensure.sh.
func (s *stack) serverBin(ctx context.Context, name, envVar string) (string, error) {
	switch {
	case name == Consul && s.cfg.ConsulBin != "":
		return s.cfg.ConsulBin, nil
	case name == Vault && s.cfg.VaultBin != "":
		return s.cfg.VaultBin, nil
	}
	return serverBinary(ctx, s.cfg.RepoRoot, name, envVar, s.cfg.Out)
}

// upRedis starts Redis when a binary exists and it is not running. It
// reports whether the services should share their limits through Redis.
func (s *stack) upRedis(ctx context.Context, bin string) (bool, error) {
	out := s.cfg.Out
	if s.cfg.RedisBin != "" {
		bin = s.cfg.RedisBin
	}
	r, alive, err := s.record(Redis)
	if err != nil {
		return false, err
	}
	if alive {
		fmt.Fprintf(out, "redis: already running (pid %d)\n", r.PID)
		return true, nil
	}
	if bin == "" {
		fmt.Fprintln(out, "WARNING: redis-server not found: each service keeps its rate limits in memory, so "+
			"limits are not shared between instances. Install Debian's redis-server package, or set "+
			"BULWARK_REDIS_BIN, and run bulwark down and up again.")
		return false, nil
	}
	if err := s.checkPorts(Redis); err != nil {
		return false, err
	}
	p, err := s.startRedis(bin)
	if err != nil {
		return false, err
	}
	fmt.Fprintf(out, "redis: started (pid %d, log %s)\n", p.PID, p.Log)
	waitCtx, cancel := context.WithTimeout(ctx, s.cfg.ReadyTimeout)
	defer cancel()
	if err := waitReady(waitCtx, Redis, p.Log, p.exited, s.redisReady); err != nil {
		return false, err
	}
	return true, nil
}

// upServices builds and starts the services that are not running and waits
// until every service is ready.
func (s *stack) upServices(ctx context.Context, withRedis bool) error {
	out := s.cfg.Out
	var missing []string
	for _, name := range s.services {
		r, alive, err := s.record(name)
		if err != nil {
			return err
		}
		if alive {
			fmt.Fprintf(out, "%s: already running (pid %d)\n", name, r.PID)
			continue
		}
		if err := s.checkPorts(name); err != nil {
			return err
		}
		missing = append(missing, name)
	}
	startedServices := map[string]*started{}
	if len(missing) > 0 {
		for _, file := range []string{s.layout.GatewayCert, s.layout.GatewayKey} {
			if !fileExists(file) {
				return fmt.Errorf("stack: the gateway's public certificate %s is missing after bootstrap certs; "+
					"rebuild bulwark from the current source, which writes it", file)
			}
		}
		fmt.Fprintf(out, "building %v into %s\n", missing, s.paths.Bin)
		if err := s.buildServices(ctx, missing); err != nil {
			return err
		}
		for _, name := range missing {
			p, err := s.startService(name, withRedis)
			if err != nil {
				return err
			}
			startedServices[name] = p
			fmt.Fprintf(out, "%s: started (pid %d, log %s)\n", name, p.PID, p.Log)
		}
	}
	waitCtx, cancel := context.WithTimeout(ctx, s.cfg.ReadyTimeout)
	defer cancel()
	for _, name := range s.services {
		probe := func(ctx context.Context) error { return s.serviceReady(ctx, name) }
		if err := waitReady(waitCtx, name, s.paths.Log(name), exitedOf(startedServices[name]), probe); err != nil {
			return err
		}
		fmt.Fprintf(out, "%s: ready (admin http://%s)\n", name, s.adminAddr(name))
	}
	return nil
}

// checkPorts returns an error when a fixed port of the component is taken.
func (s *stack) checkPorts(component string) error {
	var errs []error
	for _, port := range s.ports.ByComponent(component) {
		errs = append(errs, checkFree(port))
	}
	return errors.Join(errs...)
}

// exitedOf returns the exit channel of a process this command started, or
// nil, which never fires, for one that was already running.
func exitedOf(p *started) <-chan struct{} {
	if p == nil {
		return nil
	}
	return p.exited
}

// printSummary prints the gateway URL and a first request to try.
func (s *stack) printSummary() {
	out := s.cfg.Out
	ca := displayPath(s.layout.CACert)
	fmt.Fprintf(out, "\nGateway:  %s   (CA: %s)\n", s.gatewayURL(), ca)
	fmt.Fprintf(out, "Env:      source %s\n", displayPath(s.paths.Env))
	fmt.Fprintf(out, "Try:      curl --cacert %s %s/v1/products\n", ca, s.gatewayURL())
}

// displayPath returns path relative to the working directory when it lies
// below it, else path.
func displayPath(path string) string {
	wd, err := os.Getwd()
	if err != nil {
		return path
	}
	rel, err := filepath.Rel(wd, path)
	if err != nil || rel == ".." || filepath.IsAbs(rel) || len(rel) > 2 && rel[:3] == "../" {
		return path
	}
	return rel
}
