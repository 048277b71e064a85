package testenv

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/internal/bootstrap"
)

// readyTimeout bounds the wait for a started server to respond. Consul
// v1.16.3 and Vault v1.14.8 respond within about 0.2 s on a 2-core machine,
// and the bound leaves room for a loaded CI machine.
const readyTimeout = 60 * time.Second

// pollInterval is the pause between readiness probes.
const pollInterval = 50 * time.Millisecond

func (e *Env) startConsul(ctx context.Context) error {
	if err := e.consul.start(); err != nil {
		return err
	}
	client, err := e.httpsClient(true)
	if err != nil {
		return err
	}
	url := "https://" + e.ConsulAddr + "/v1/status/leader"
	// After a restart the ACL system responds only once the leader has
	// restored its state, so the probe also checks the management token
	// when the bootstrap has saved one.
	management, _ := os.ReadFile(e.ConsulManagementTokenFile)
	return e.waitReady(ctx, e.consul, func() error {
		body, status, err := get(ctx, client, url, "")
		if err != nil {
			return err
		}
		if status != http.StatusOK || strings.Trim(strings.TrimSpace(body), `"`) == "" {
			return fmt.Errorf("no leader yet (HTTP %d)", status)
		}
		if len(management) == 0 {
			return nil
		}
		body, status, err = get(ctx, client, "https://"+e.ConsulAddr+"/v1/acl/token/self", strings.TrimSpace(string(management)))
		if err != nil {
			return err
		}
		if status != http.StatusOK {
			return fmt.Errorf("ACL system not ready (HTTP %d: %s)", status, strings.TrimSpace(body))
		}
		return nil
	})
}

func (e *Env) startVault(ctx context.Context) error {
	if err := e.vault.start(); err != nil {
		return err
	}
	client, err := e.httpsClient(false)
	if err != nil {
		return err
	}
	// Any response of the health endpoint means the listener is up. The
	// query maps the codes for uninitialized, sealed and standby to 200.
	url := e.VaultAddr + "/v1/sys/health?uninitcode=200&sealedcode=200&standbycode=200"
	return e.waitReady(ctx, e.vault, func() error {
		_, status, err := get(ctx, client, url, "")
		if err != nil {
			return err
		}
		if status != http.StatusOK {
			return fmt.Errorf("HTTP %d", status)
		}
		return nil
	})
}

// waitReady polls probe until it succeeds, the process exits or
// readyTimeout passes.
func (e *Env) waitReady(ctx context.Context, p *process, probe func() error) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	exited := p.exited()
	var last error
	for {
		if last = probe(); last == nil {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("testenv: %s exited during start; its log %s ends with:\n%s", p.name, p.logPath, p.tail(20))
		case <-ctx.Done():
			return fmt.Errorf("testenv: %s not ready after %s: %v; its log %s ends with:\n%s",
				p.name, readyTimeout, last, p.logPath, p.tail(20))
		case <-time.After(pollInterval):
		}
	}
}

// httpsClient returns a client that verifies servers against the root CA,
// with the operator certificate when withCert is true.
func (e *Env) httpsClient(withCert bool) (*http.Client, error) {
	config := &tls.Config{RootCAs: e.CAPool, MinVersion: tls.VersionTLS12}
	if withCert {
		cert, err := tls.LoadX509KeyPair(e.OperatorCertFile, e.OperatorKeyFile)
		if err != nil {
			return nil, fmt.Errorf("testenv: load operator certificate: %w", err)
		}
		config.Certificates = []tls.Certificate{cert}
	}
	transport := &http.Transport{TLSClientConfig: config, DisableKeepAlives: true}
	return &http.Client{Transport: transport, Timeout: 5 * time.Second}, nil
}

// get sends a GET request, with a Consul ACL token when token is set.
func get(ctx context.Context, client *http.Client, url, token string) (string, int, error) {
	request, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", 0, err
	}
	if token != "" {
		request.Header.Set("X-Consul-Token", token)
	}
	response, err := client.Do(request)
	if err != nil {
		return "", 0, err
	}
	defer response.Body.Close()
	body, err := io.ReadAll(io.LimitReader(response.Body, 1<<16))
	return string(body), response.StatusCode, err
}

// StopVault stops Vault. Its data stays, so StartVault brings back the same
// Vault.
func (e *Env) StopVault(t testing.TB) {
	t.Helper()
	if err := e.vault.stop(); err != nil {
		t.Logf("testenv: vault exited with %v", err)
	}
}

// StartVault starts a stopped Vault on the same port with the same data,
// unseals it and waits until it is active.
func (e *Env) StartVault(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*readyTimeout)
	defer cancel()
	if err := e.startVault(ctx); err != nil {
		t.Fatal(err)
	}
	if err := bootstrap.Unseal(ctx, e.config); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	client, err := e.httpsClient(false)
	if err != nil {
		t.Fatal(err)
	}
	err = e.waitReady(ctx, e.vault, func() error {
		_, status, err := get(ctx, client, e.VaultAddr+"/v1/sys/health", "")
		if err != nil {
			return err
		}
		if status != http.StatusOK {
			return fmt.Errorf("not active yet (HTTP %d)", status)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// RestartConsul stops Consul and starts it again on the same ports with the
// same data, and waits until it has a leader. The agent token survives
// through enable_token_persistence. The agent also restores the services
// and checks that were registered with it, so a registered node is back
// without any action of its service.
func (e *Env) RestartConsul(t testing.TB) {
	t.Helper()
	e.restartConsul(t, false)
}

// RestartConsulLosingServices restarts Consul like RestartConsul, but
// deletes the agent's saved services and checks while it is stopped, as
// when an agent comes back with a fresh data directory on a node whose
// catalog survives. The agent then removes every node registered with it
// from the catalog, and a node is back only when its service registers it
// again.
func (e *Env) RestartConsulLosingServices(t testing.TB) {
	t.Helper()
	e.restartConsul(t, true)
}

// agentStateDirs are the directories below Consul's data directory in which
// the agent saves the services and checks registered with it (Consul
// v1.16.3).
var agentStateDirs = []string{"services", "checks"}

func (e *Env) restartConsul(t testing.TB, loseServices bool) {
	t.Helper()
	if err := e.consul.stop(); err != nil {
		t.Logf("testenv: consul exited with %v", err)
	}
	if loseServices {
		for _, name := range agentStateDirs {
			if err := os.RemoveAll(filepath.Join(e.Layout.ConsulDataDir, name)); err != nil {
				t.Fatalf("testenv: delete Consul's saved %s: %v", name, err)
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	if err := e.startConsul(ctx); err != nil {
		t.Fatal(err)
	}
}
