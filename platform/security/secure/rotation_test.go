package secure_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/internal/testenv"
	"github.com/bulwark-go/bulwark/platform/security/pki"
	"github.com/bulwark-go/bulwark/platform/security/secure"
)

// Timing of the rotation test. Certificates live one minute (plus Vault's
// 30 seconds of backdating), so a source rotates about every 30 seconds.
const (
	certTTL          = time.Minute
	rotationDuration = 3*certTTL + 30*time.Second
	// vaultDownAfterFailure keeps Vault down a little after the first
	// failed renewal, so that the source retries at least once more. It is
	// far below the third of a lifetime that a certificate has left when
	// its renewal starts.
	vaultDownAfterFailure = 3 * time.Second
	recoveryTimeout       = 2 * time.Minute
)

// load calls the probe and publishes events without pause until stopped,
// counting failures.
type load struct {
	calls, callFailures       atomic.Int64
	publishes, publishFailure atomic.Int64
	mu                        sync.Mutex
	firstErr                  error
	stop                      chan struct{}
	done                      sync.WaitGroup
}

func startLoad(c *cluster) *load {
	l := &load{stop: make(chan struct{})}
	l.done.Add(2)
	go func() {
		defer l.done.Done()
		for {
			select {
			case <-l.stop:
				return
			default:
			}
			l.calls.Add(1)
			if _, err := call(context.Background(), c.orders, "Probe.Whoami"); err != nil {
				l.callFailures.Add(1)
				l.record(err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	go func() {
		defer l.done.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for i := 0; ; i++ {
			select {
			case <-l.stop:
				return
			case <-t.C:
			}
			l.publishes.Add(1)
			if err := publish(c.orders, i); err != nil {
				l.publishFailure.Add(1)
				l.record(err)
			}
		}
	}()
	go func() {
		for {
			select {
			case <-c.events:
			case <-l.stop:
				return
			}
		}
	}()
	return l
}

func (l *load) record(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.firstErr == nil {
		l.firstErr = err
	}
}

func (l *load) halt() {
	close(l.stop)
	l.done.Wait()
}

func (l *load) check(t *testing.T, phase string) {
	t.Helper()
	t.Logf("%s: %d calls, %d failed; %d publishes, %d failed", phase, l.calls.Load(), l.callFailures.Load(),
		l.publishes.Load(), l.publishFailure.Load())
	if n := l.callFailures.Load(); n != 0 {
		t.Errorf("%s: %d of %d calls failed; first error: %v", phase, n, l.calls.Load(), l.firstErr)
	}
	if n := l.publishFailure.Load(); n != 0 {
		t.Errorf("%s: %d of %d publishes failed; first error: %v", phase, n, l.publishes.Load(), l.firstErr)
	}
}

func serialOf(t *testing.T, src secure.CertificateSource) string {
	t.Helper()
	cert, err := src.GetCertificate(nil)
	if err != nil {
		t.Fatalf("current certificate: %v", err)
	}
	return pki.Serial(cert.Leaf)
}

func TestRotationAndVaultOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Consul and Vault and runs for about five minutes")
	}
	env := testenv.Start(t, testenv.Options{CertTTL: certTTL})
	logs := &testenv.SyncBuffer{}
	c := startCluster(t, env, func(cfg *secure.Config) {
		cfg.PoolTTL = 5 * time.Second
		cfg.MaxConnectionAge = 10 * time.Second
		cfg.Logger = slog.New(slog.NewJSONHandler(io.MultiWriter(logs, testWriter{t}),
			&slog.HandlerOptions{Level: slog.LevelWarn}))
	})
	sources := map[string]secure.CertificateSource{
		"inventory": c.inventory.Certificates,
		"orders":    c.orders.Certificates,
		"gateway":   c.gateway.Certificates,
	}

	// Phase 1: several certificate lifetimes of continuous calls.
	firstServerSerial := serialOf(t, c.inventory.Certificates)
	l := startLoad(c)
	time.Sleep(rotationDuration)
	l.halt()
	l.check(t, "rotation")
	if n := c.probe.serialCount(); n < 2 {
		t.Errorf("server saw %d client certificate serials, want at least 2", n)
	} else {
		t.Logf("server saw %d client certificate serials", n)
	}
	if serialOf(t, c.inventory.Certificates) == firstServerSerial {
		t.Error("server certificate did not rotate")
	}

	// Phase 2: Vault stops and stays down until a source has tried to
	// renew and failed. Calls go on with the current certificates, and the
	// failed source rotates once Vault is back.
	l = startLoad(c)
	env.StopVault(t)
	stopped := time.Now()
	failed := ""
	for failed == "" && time.Since(stopped) < recoveryTimeout {
		failed = firstRenewalFailure(t, logs.String())
		if failed == "" {
			time.Sleep(200 * time.Millisecond)
		}
	}
	if failed == "" {
		env.StartVault(t)
		l.halt()
		t.Fatalf("no certificate renewal was attempted within %v of stopping Vault", recoveryTimeout)
	}
	before := serialOf(t, sources[failed])
	t.Logf("%s failed to renew %v after Vault stopped", failed, time.Since(stopped).Round(time.Millisecond))
	time.Sleep(vaultDownAfterFailure)
	env.StartVault(t)
	deadline := time.Now().Add(recoveryTimeout)
	for serialOf(t, sources[failed]) == before && time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
	}
	l.halt()
	l.check(t, "vault outage")
	if serialOf(t, sources[failed]) == before {
		t.Errorf("%s certificate did not rotate within %v of Vault's return", failed, recoveryTimeout)
	}
}

// firstRenewalFailure returns the service named in the first log record of
// a failed certificate renewal, or "" when there is none.
func firstRenewalFailure(t *testing.T, logs string) string {
	t.Helper()
	for _, line := range strings.Split(logs, "\n") {
		if !strings.Contains(line, "certificate renewal failed") {
			continue
		}
		var record struct {
			Service string `json:"service"`
		}
		if err := json.Unmarshal([]byte(line), &record); err != nil {
			t.Fatalf("parse log record %q: %v", line, err)
		}
		return record.Service
	}
	return ""
}
