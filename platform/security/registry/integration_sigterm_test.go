package registry

import (
	"bufio"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	grpcserver "github.com/go-micro/plugins/v4/server/grpc"
	"github.com/google/uuid"
	consulapi "github.com/hashicorp/consul/api"
	micro "go-micro.dev/v4"
	"go-micro.dev/v4/server"

	"github.com/bulwark-go/bulwark/internal/testenv"
)

// sigtermChildEnv names the environment variable that makes
// TestSIGTERMChild run a service. Its value is the path of a JSON file with
// childSettings: paths and addresses only, no secret.
const sigtermChildEnv = "BULWARK_REGISTRY_SIGTERM_CHILD"

// nodeIDMarker starts the line on which the child prints its node ID once the
// service has started and passed CheckRegistered.
const nodeIDMarker = "bulwark-sigterm-child node_id="

// childSettings contains the addresses of the harness's servers and the
// paths of the CA and the service's AppRole files, for the child process.
type childSettings struct {
	Service      string
	ConsulAddr   string
	VaultAddr    string
	CAFile       string
	RoleIDFile   string
	SecretIDFile string
}

// TestIntegrationDeregisterOnSIGTERM runs a go-micro service with the
// Registry in a child process, as a deployed service runs, sends it SIGTERM
// and checks that its node leaves Consul's catalog at once instead of
// lingering until its check turns critical.
func TestIntegrationDeregisterOnSIGTERM(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	operator := operatorConsul(t, env)

	role := env.AppRoles["orders"]
	settings, err := json.Marshal(childSettings{
		Service:      "orders",
		ConsulAddr:   env.ConsulAddr,
		VaultAddr:    env.VaultAddr,
		CAFile:       env.CAFile,
		RoleIDFile:   role.RoleIDFile,
		SecretIDFile: role.SecretIDFile,
	})
	if err != nil {
		t.Fatal(err)
	}
	settingsFile := filepath.Join(t.TempDir(), "child.json")
	if err := os.WriteFile(settingsFile, settings, 0o600); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^TestSIGTERMChild$", "-test.count=1", "-test.v",
		"-test.timeout=2m")
	cmd.Env = append(os.Environ(), sigtermChildEnv+"="+settingsFile)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	output := &testenv.SyncBuffer{}
	cmd.Stderr = output
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the child service: %v", err)
	}
	exited := make(chan error, 1)
	nodeIDs := make(chan string, 1)
	go func() {
		scanner := bufio.NewScanner(stdout)
		for scanner.Scan() {
			line := scanner.Text()
			_, _ = output.Write([]byte(line + "\n"))
			if id, ok := strings.CutPrefix(line, nodeIDMarker); ok {
				nodeIDs <- id
			}
		}
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		// Kill returns os.ErrProcessDone once the child has exited.
		_ = cmd.Process.Kill()
		if t.Failed() {
			t.Logf("child output:\n%s", output.String())
		}
	})

	var nodeID string
	select {
	case nodeID = <-nodeIDs:
	case err := <-exited:
		t.Fatalf("the child service exited before it started: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("the child service did not start within a minute")
	}
	if got := catalogStatus(t, operator, "orders", nodeID); got != consulapi.HealthPassing {
		t.Fatalf("catalog status of %s before SIGTERM = %q, want passing", nodeID, got)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("send SIGTERM: %v", err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("the child service exited with %v after SIGTERM, want a clean exit", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the child service did not exit within 30s of SIGTERM")
	}
	// Without a deregistration the node would stay in the catalog, passing
	// until its TTL ran out and then critical.
	if got := catalogStatus(t, operator, "orders", nodeID); got != "" {
		t.Fatalf("node %s is still in the catalog as %q after the service exited on SIGTERM", nodeID, got)
	}
}

// TestSIGTERMChild is the service that TestIntegrationDeregisterOnSIGTERM
// starts in a child process. It runs only there.
func TestSIGTERMChild(t *testing.T) {
	path := os.Getenv(sigtermChildEnv)
	if path == "" {
		t.Skip("runs only as the child process of TestIntegrationDeregisterOnSIGTERM")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s childSettings
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	pool, err := loadCAPool(s.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	env := &testenv.Env{
		ConsulAddr: s.ConsulAddr,
		VaultAddr:  s.VaultAddr,
		CAFile:     s.CAFile,
		CAPool:     pool,
		AppRoles:   map[string]testenv.AppRole{s.Service: {RoleIDFile: s.RoleIDFile, SecretIDFile: s.SecretIDFile}},
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	reg := newTestRegistry(t, env, s.Service, log)

	// Catch SIGTERM from now on, so that a signal arriving between the
	// start and Run's own signal.Notify cannot kill the process before it
	// deregisters. Run still receives the signal on its channel.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGTERM)

	id := uuid.NewString()
	srv := grpcserver.NewServer(server.Name(s.Service), server.Id(id), server.Address("127.0.0.1:0"))
	opts := append([]micro.Option{micro.Server(srv), micro.Name(s.Service)}, reg.ServiceOptions()...)
	opts = append(opts, micro.AfterStart(func() error {
		fmt.Println(nodeIDMarker + s.Service + "-" + id)
		return nil
	}))
	if err := micro.NewService(opts...).Run(); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// loadCAPool reads a PEM CA bundle.
func loadCAPool(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, errors.New("no certificate in " + path)
	}
	return pool, nil
}
