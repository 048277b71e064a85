package verify

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// insecureConsul is a Consul agent that this test starts with two
// protections off: HTTPS without verify_incoming, and ACLs with default
// policy allow.
type insecureConsul struct {
	address                   string
	caFile, certFile, keyFile string
}

// consulBinary returns the Consul binary that the harness uses: the one named
// by BULWARK_CONSUL_BIN, or the one tools/servers/ensure.sh prints.
func consulBinary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("BULWARK_CONSUL_BIN"); bin != "" {
		return bin
	}
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "..", "..", "..", "..", "tools", "servers", "ensure.sh")
	out, err := exec.Command(script, "consul").Output()
	if err != nil {
		t.Fatalf("find the Consul binary with %s: %v", script, err)
	}
	return strings.TrimSpace(string(out))
}

// freePorts returns n distinct free TCP ports on 127.0.0.1.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	ports := make([]int, 0, n)
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

func startInsecureConsul(t *testing.T) *insecureConsul {
	t.Helper()
	bin := consulBinary(t)
	dir := t.TempDir()

	ca, err := newMemoryCA()
	if err != nil {
		t.Fatal(err)
	}
	serverCert, err := ca.leaf("localhost", "127.0.0.1", "server.dc1.consul")
	if err != nil {
		t.Fatal(err)
	}
	clientCert, err := ca.leaf("client")
	if err != nil {
		t.Fatal(err)
	}
	c := &insecureConsul{
		caFile:   writePEM(t, dir, "ca.pem", "CERTIFICATE", serverCert.Certificate[1]),
		certFile: writePEM(t, dir, "client.pem", "CERTIFICATE", clientCert.Certificate[0]),
		keyFile:  writeKey(t, dir, "client-key.pem", clientCert),
	}
	serverCertFile := writePEM(t, dir, "server.pem", "CERTIFICATE", serverCert.Certificate[0])
	serverKeyFile := writeKey(t, dir, "server-key.pem", serverCert)

	ports := freePorts(t, 3)
	c.address = fmt.Sprintf("127.0.0.1:%d", ports[0])
	config := fmt.Sprintf(`
server = true
bootstrap_expect = 1
data_dir = %q
node_name = "insecure"
bind_addr = "127.0.0.1"
client_addr = "127.0.0.1"
disable_update_check = true
ports {
  http = -1
  https = %d
  dns = -1
  grpc = -1
  grpc_tls = -1
  serf_lan = %d
  serf_wan = -1
  server = %d
}
tls {
  defaults {
    ca_file = %q
    cert_file = %q
    key_file = %q
    verify_incoming = false
  }
}
acl {
  enabled = true
  default_policy = "allow"
}
`, filepath.Join(dir, "data"), ports[0], ports[1], ports[2], c.caFile, serverCertFile, serverKeyFile)
	configFile := filepath.Join(dir, "consul.hcl")
	if err := os.WriteFile(configFile, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}

	logFile, err := os.Create(filepath.Join(dir, "consul.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "agent", "-config-file", configFile)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH")}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start Consul: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		_ = logFile.Close()
	})

	if !waitForLeader(c) {
		log, _ := os.ReadFile(logFile.Name())
		t.Fatalf("the insecure Consul did not elect a leader within 30s; log:\n%s", log)
	}
	return c
}

// waitForLeader polls /v1/status/leader until Consul names a leader.
func waitForLeader(c *insecureConsul) bool {
	pool := x509.NewCertPool()
	data, _ := os.ReadFile(c.caFile)
	pool.AppendCertsFromPEM(data)
	client := &http.Client{Timeout: 2 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := client.Get("https://" + c.address + "/v1/status/leader")
		if err == nil {
			body := make([]byte, 128)
			n, _ := resp.Body.Read(body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK && strings.Contains(string(body[:n]), ":") {
				return true
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return false
}

func writePEM(t *testing.T, dir, name, kind string, der []byte) string {
	t.Helper()
	return writeFile(t, dir, name, string(pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der})))
}

func writeKey(t *testing.T, dir, name string, cert tls.Certificate) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	return writePEM(t, dir, name, "PRIVATE KEY", der)
}
