package scaffold_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	consulapi "github.com/hashicorp/consul/api"
	vaultapi "github.com/hashicorp/vault/api"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/bulwark-go/bulwark/internal/bootstrap"
	"github.com/bulwark-go/bulwark/internal/scaffold"
	"github.com/bulwark-go/bulwark/internal/testenv"
	"github.com/bulwark-go/bulwark/platform/security/identity"
	"github.com/bulwark-go/bulwark/platform/security/pki"
	"github.com/bulwark-go/bulwark/platform/security/vaultclient"
)

// Bounds of the steps that wait for a process.
const (
	buildTimeout = 5 * time.Minute
	readyTimeout = 60 * time.Second
	stopTimeout  = 30 * time.Second
	callTimeout  = 10 * time.Second
)

// The scaffolded service and its example endpoint, as a gRPC method of the
// go-micro server: /<service>.<Handler>/<Method>. The name is one that a
// fork is unlikely to have added itself, such as the README's "payments".
const (
	serviceName = "scaffoldcheck"
	pingMethod  = "/scaffoldcheck.Scaffoldcheck/Ping"
)

func TestScaffoldedServiceIsSecured(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a service and starts Consul and Vault")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	repo := copyRepository(t, root)

	result, err := scaffold.NewService(scaffold.Options{Repo: repo, Name: serviceName})
	if err != nil {
		t.Fatalf("scaffold: %v", err)
	}
	t.Logf("scaffold created %v and changed %v", result.Created, result.Changed)
	bin := buildService(t, repo)
	runGoInCopy(t, repo, "vet", "./services/"+serviceName+"/...")
	runGoInCopy(t, repo, "test", "-count=1", "./services/"+serviceName+"/...")

	// The bootstrap reads the copy's services.yaml and creates the new
	// service's PKI role, AppRole, Vault policy, Consul ACL policy and
	// Consul secrets-engine role, as `make up` does.
	env := testenv.Start(t, testenv.Options{})
	cfg := env.BootstrapConfig()
	cfg.InfraDir = filepath.Join(repo, "infra")
	cfg.Services = nil
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := bootstrap.Configure(ctx, cfg); err != nil {
		t.Fatalf("bootstrap configure with the copy's infra: %v", err)
	}
	role := testenv.AppRole{
		RoleIDFile:   env.Layout.ServiceRoleID(serviceName),
		SecretIDFile: env.Layout.ServiceSecretID(serviceName),
	}
	vaultAdmin := vaultRoot(t, env)
	for _, path := range []string{
		bootstrap.PKIMount + "/roles/" + serviceName,
		"auth/" + bootstrap.AppRoleMount + "/role/" + serviceName,
		bootstrap.ConsulMount + "/roles/" + serviceName,
		"sys/policies/acl/" + bootstrap.VaultPolicyName(serviceName),
	} {
		secret, err := vaultAdmin.Logical().Read(path)
		if err != nil || secret == nil {
			t.Errorf("the bootstrap did not create %s from the copy's services.yaml: %v", path, err)
		}
	}

	// Allow the gateway, and only the gateway, to call the endpoint.
	authzFile := filepath.Join(repo, "infra", "authz.yaml")
	replaceInFile(t, authzFile, "  scaffoldcheck: {}\n", "  scaffoldcheck:\n    Scaffoldcheck.Ping: [gateway]\n")

	svc := startService(t, bin, env, role, repo)
	consul := consulClient(t, env)
	entries, _, err := consul.Catalog().Service(serviceName, "", nil)
	if err != nil {
		t.Fatalf("Consul catalog of %s: %v", serviceName, err)
	}
	if len(entries) != 1 {
		t.Fatalf("%s instances in Consul = %d, want one", serviceName, len(entries))
	}
	address := net.JoinHostPort(entries[0].ServiceAddress, strconv.Itoa(entries[0].ServicePort))

	t.Run("own Consul token", func(t *testing.T) {
		token := consulToken(t, env, role)
		own, err := consulapi.NewClient(consulConfig(t, env, token))
		if err != nil {
			t.Fatal(err)
		}
		err = own.Agent().ServiceRegister(&consulapi.AgentServiceRegistration{ID: "impostor", Name: "orders", Port: 1})
		if err == nil {
			_ = own.Agent().ServiceDeregister("impostor")
			t.Fatal("the scaffolded service's token registered the service orders")
		}
		if !strings.Contains(err.Error(), "Permission denied") {
			t.Errorf("registering orders with the scaffolded service's token: %v, want Permission denied", err)
		}
		reg := &consulapi.AgentServiceRegistration{ID: "scaffoldcheck-extra", Name: serviceName, Port: 1}
		if err := own.Agent().ServiceRegister(reg); err != nil {
			t.Fatalf("the scaffolded service's token cannot register its own name: %v", err)
		}
		if err := own.Agent().ServiceDeregister(reg.ID); err != nil {
			t.Errorf("deregister %s: %v", reg.ID, err)
		}
	})

	t.Run("no client certificate rejected", func(t *testing.T) {
		tlsConfig := &tls.Config{RootCAs: env.CAPool, ServerName: identity.DNSName(serviceName), MinVersion: tls.VersionTLS12}
		_, err := ping(address, tlsConfig, "no certificate")
		if err == nil {
			t.Fatal("a call without a client certificate succeeded")
		}
		if code := status.Code(err); code != codes.Unavailable {
			t.Errorf("call without a client certificate = %v (%v), want a rejected connection", code, err)
		}
	})

	t.Run("caller not in its rows denied", func(t *testing.T) {
		_, err := ping(address, clientTLS(t, env, "users"), "from users")
		if code := status.Code(err); code != codes.PermissionDenied {
			t.Errorf("users calling Scaffoldcheck.Ping = %v (%v), want PermissionDenied", code, err)
		}
	})

	t.Run("allowed caller succeeds", func(t *testing.T) {
		rsp, err := ping(address, clientTLS(t, env, "gateway"), "from gateway")
		if err != nil {
			t.Fatalf("gateway calling Scaffoldcheck.Ping: %v", err)
		}
		if rsp.Caller != "gateway" || rsp.Message != "from gateway" {
			t.Errorf("response = %+v, want caller gateway and the message back", rsp)
		}
	})

	t.Run("burst rate limited", func(t *testing.T) {
		// The generated limit of Scaffoldcheck.Ping is 10/s with a burst of 20,
		// so 60 calls at once cannot all pass.
		const calls = 60
		conn := dial(t, address, clientTLS(t, env, "gateway"))
		var (
			wg        sync.WaitGroup
			mu        sync.Mutex
			passed    int
			exhausted int
			other     []error
		)
		for range calls {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
				defer cancel()
				var rsp pingResponse
				err := conn.Invoke(ctx, pingMethod, &pingRequest{Message: "burst"}, &rsp, grpc.ForceCodec(jsonCodec{}))
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					passed++
				case status.Code(err) == codes.ResourceExhausted:
					exhausted++
				default:
					other = append(other, err)
				}
			})
		}
		wg.Wait()
		t.Logf("burst of %d: %d passed, %d rejected", calls, passed, exhausted)
		if len(other) > 0 {
			t.Errorf("%d calls failed with other errors, first: %v", len(other), other[0])
		}
		if exhausted == 0 {
			t.Error("no call of the burst was rejected with ResourceExhausted")
		}
		if passed == 0 {
			t.Error("no call of the burst passed")
		}
	})

	svc.stop(t)
	entries, _, err = consul.Catalog().Service(serviceName, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("%s instances in Consul after SIGTERM = %d, want none", serviceName, len(entries))
	}
}

// copyRepository copies the files that git tracks in root into a temporary
// directory.
func copyRepository(t *testing.T, root string) string {
	t.Helper()
	cmd := exec.Command("git", "ls-files", "-z")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git ls-files in %s: %v", root, err)
	}
	repo := t.TempDir()
	for _, rel := range strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00") {
		source := filepath.Join(root, rel)
		info, err := os.Lstat(source)
		if errors.Is(err, os.ErrNotExist) {
			continue // deleted in the working tree but not yet in the index
		}
		if err != nil {
			t.Fatal(err)
		}
		if !info.Mode().IsRegular() {
			continue
		}
		data, err := os.ReadFile(source)
		if err != nil {
			t.Fatal(err)
		}
		target := filepath.Join(repo, rel)
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(target, data, info.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	return repo
}

// buildService builds the scaffolded service in the copy with the module
// cache of the caller, as a static binary.
func buildService(t *testing.T, repo string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), serviceName)
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./services/"+serviceName)
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./services/%s in the copy: %v\n%s", serviceName, err, out)
	}
	return bin
}

// runGoInCopy runs a go command on the copy and fails the test when it
// fails.
func runGoInCopy(t *testing.T, repo string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = repo
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s in the copy: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func replaceInFile(t *testing.T, path, old, replacement string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), old) {
		t.Fatalf("%s does not contain %q", path, old)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(data), old, replacement, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// process is the running service.
type process struct {
	cmd     *exec.Cmd
	done    chan error
	log     string
	stopped bool
}

// startService runs the binary with the run contract's variables and waits
// until /readyz returns 200.
func startService(t *testing.T, bin string, env *testenv.Env, role testenv.AppRole, repo string) *process {
	t.Helper()
	admin := freeAddress(t)
	p := &process{done: make(chan error, 1), log: filepath.Join(t.TempDir(), serviceName+".log")}
	logFile, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(bin)
	p.cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"BULWARK_VAULT_ADDR=" + env.VaultAddr,
		"BULWARK_CONSUL_ADDR=" + env.ConsulAddr,
		"BULWARK_CA_FILE=" + env.CAFile,
		"BULWARK_ROLE_ID_FILE=" + role.RoleIDFile,
		"BULWARK_SECRET_ID_FILE=" + role.SecretIDFile,
		"BULWARK_AUTHZ_FILE=" + filepath.Join(repo, "infra", "authz.yaml"),
		"BULWARK_RATELIMIT_FILE=" + filepath.Join(repo, "infra", "ratelimit", serviceName+".yaml"),
		"BULWARK_LISTEN=127.0.0.1:0",
		"BULWARK_ADMIN_LISTEN=" + admin,
		"BULWARK_LOG_LEVEL=debug",
	}
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	if runtime.GOOS == "linux" {
		// The service must not outlive a test binary that dies.
		p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	}
	if err := p.cmd.Start(); err != nil {
		logFile.Close()
		t.Fatalf("start %s: %v", serviceName, err)
	}
	go func() { p.done <- p.cmd.Wait(); logFile.Close() }()
	t.Cleanup(func() { p.stop(t) })

	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(readyTimeout)
	for {
		select {
		case err := <-p.done:
			p.done <- err
			t.Fatalf("%s exited before it was ready: %v\n%s", serviceName, err, p.tail())
		default:
		}
		rsp, err := client.Get("http://" + admin + "/readyz")
		if err == nil {
			rsp.Body.Close()
			if rsp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready within %s\n%s", serviceName, readyTimeout, p.tail())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// stop sends SIGTERM and waits for a clean exit. Calls after the first do
// nothing.
func (p *process) stop(t *testing.T) {
	t.Helper()
	if p.stopped {
		return
	}
	p.stopped = true
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("SIGTERM to %s: %v", serviceName, err)
	}
	select {
	case err := <-p.done:
		p.done <- err
		if err != nil {
			t.Errorf("%s exited with %v after SIGTERM, want status 0\n%s", serviceName, err, p.tail())
		}
	case <-time.After(stopTimeout):
		_ = p.cmd.Process.Kill()
		t.Errorf("%s did not stop within %s of SIGTERM\n%s", serviceName, stopTimeout, p.tail())
	}
}

// tail returns the end of the service's log for failure messages.
func (p *process) tail() string {
	data, _ := os.ReadFile(p.log)
	if len(data) > 4000 {
		data = data[len(data)-4000:]
	}
	return string(data)
}

func freeAddress(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// consulConfig returns a Consul API configuration with the operator client
// certificate, which Consul's HTTPS API requires, and token.
func consulConfig(t *testing.T, env *testenv.Env, token string) *consulapi.Config {
	t.Helper()
	return &consulapi.Config{
		Address: env.ConsulAddr,
		Scheme:  "https",
		Token:   token,
		HttpClient: &http.Client{
			Timeout:   callTimeout,
			Transport: &http.Transport{TLSClientConfig: env.OperatorTLSConfig(t)},
		},
	}
}

// consulClient returns a Consul API client with the management token.
func consulClient(t *testing.T, env *testenv.Env) *consulapi.Client {
	t.Helper()
	token, err := os.ReadFile(env.ConsulManagementTokenFile)
	if err != nil {
		t.Fatal(err)
	}
	client, err := consulapi.NewClient(consulConfig(t, env, strings.TrimSpace(string(token))))
	if err != nil {
		t.Fatal(err)
	}
	return client
}

// vaultRoot returns a Vault client with the root token, for checks of the
// bootstrap's configuration.
func vaultRoot(t *testing.T, env *testenv.Env) *vaultapi.Client {
	t.Helper()
	token, err := os.ReadFile(env.VaultRootTokenFile)
	if err != nil {
		t.Fatal(err)
	}
	cfg := vaultapi.DefaultConfig()
	cfg.Address = env.VaultAddr
	if err := cfg.ConfigureTLS(&vaultapi.TLSConfig{CACert: env.CAFile}); err != nil {
		t.Fatal(err)
	}
	client, err := vaultapi.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	client.SetToken(strings.TrimSpace(string(token)))
	return client
}

// vaultLogin logs in to Vault with an AppRole.
func vaultLogin(t *testing.T, env *testenv.Env, role testenv.AppRole) *vaultclient.Client {
	t.Helper()
	vc, err := vaultclient.New(context.Background(), vaultclient.Config{
		Address:      env.VaultAddr,
		CAFile:       env.CAFile,
		RoleIDFile:   role.RoleIDFile,
		SecretIDFile: role.SecretIDFile,
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatalf("Vault login: %v", err)
	}
	t.Cleanup(vc.Close)
	return vc
}

// consulToken reads a Consul token from the scaffolded service's role of Vault's Consul
// secrets engine, as the service does.
func consulToken(t *testing.T, env *testenv.Env, role testenv.AppRole) string {
	t.Helper()
	secret, err := vaultLogin(t, env, role).API().Logical().Read("consul/creds/" + serviceName)
	if err != nil || secret == nil {
		t.Fatalf("read consul/creds/%s: %v", serviceName, err)
	}
	token, _ := secret.Data["token"].(string)
	if token == "" {
		t.Fatalf("consul/creds/%s returned no token", serviceName)
	}
	return token
}

// clientTLS returns a client TLS configuration that presents a certificate
// of service, issued by Vault's PKI role of that service.
func clientTLS(t *testing.T, env *testenv.Env, service string) *tls.Config {
	t.Helper()
	vc := vaultLogin(t, env, env.AppRoles[service])
	secret, err := vc.API().Logical().Write("pki_int/issue/"+service, map[string]any{
		"common_name":        identity.DNSName(service),
		"uri_sans":           identity.URI(service),
		"ttl":                "10m",
		"private_key_format": "pkcs8",
	})
	if err != nil {
		t.Fatalf("issue a certificate of %s: %v", service, err)
	}
	chain := secret.Data["certificate"].(string) + "\n" + secret.Data["issuing_ca"].(string)
	cert, err := tls.X509KeyPair([]byte(chain), []byte(secret.Data["private_key"].(string)))
	if err != nil {
		t.Fatal(err)
	}
	if err := pki.VerifyLeaf(&cert, service, env.CAPool, time.Now()); err != nil {
		t.Fatalf("certificate of %s does not verify: %v", service, err)
	}
	return &tls.Config{
		RootCAs:      env.CAPool,
		Certificates: []tls.Certificate{cert},
		ServerName:   identity.DNSName(serviceName),
		MinVersion:   tls.VersionTLS12,
	}
}

// jsonCodec lets a plain gRPC client speak the go-micro server's JSON codec.
type jsonCodec struct{}

func (jsonCodec) Marshal(v any) ([]byte, error)   { return json.Marshal(v) }
func (jsonCodec) Unmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
func (jsonCodec) Name() string                    { return "json" }

// pingRequest and pingResponse mirror the generated api package, which the
// copy contains and this module does not.
type pingRequest struct {
	Message string `json:"message"`
}

type pingResponse struct {
	Message string `json:"message"`
	Caller  string `json:"caller"`
}

func dial(t *testing.T, address string, tlsConfig *tls.Config) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(address, grpc.WithTransportCredentials(credentials.NewTLS(tlsConfig)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// ping calls Scaffoldcheck.Ping once over a new connection.
func ping(address string, tlsConfig *tls.Config, message string) (*pingResponse, error) {
	conn, err := grpc.NewClient(address, grpc.WithTransportCredentials(credentials.NewTLS(tlsConfig)))
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", address, err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	var rsp pingResponse
	err = conn.Invoke(ctx, pingMethod, &pingRequest{Message: message}, &rsp, grpc.ForceCodec(jsonCodec{}))
	return &rsp, err
}
