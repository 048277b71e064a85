package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testCA is a throwaway CA that issues the probe tests' certificates.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	file string // PEM of cert
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	template := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), name+".pem")
	writePEM(t, file, "CERTIFICATE", der)
	return &testCA{cert: cert, key: key, file: file}
}

// issue returns a leaf for 127.0.0.1 with the given usage, and the paths of
// its certificate and key files.
func (ca *testCA) issue(t *testing.T, usage x509.ExtKeyUsage) (tls.Certificate, string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	template := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "leaf"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "leaf.pem"), filepath.Join(dir, "leaf-key.pem")
	writePEM(t, certFile, "CERTIFICATE", der)
	writePEM(t, keyFile, "EC PRIVATE KEY", keyDER)
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return pair, certFile, keyFile
}

func writePEM(t *testing.T, path, blockType string, der []byte) {
	t.Helper()
	data := pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: der})
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// startProbeServer starts an HTTPS server with a certificate from ca that
// returns status on /health. With clientCA set, it requires a client
// certificate from that CA.
func startProbeServer(t *testing.T, ca *testCA, status int, clientCA *testCA) *httptest.Server {
	t.Helper()
	server := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
	}))
	server.Config.ErrorLog = log.New(io.Discard, "", 0)
	pair, _, _ := ca.issue(t, x509.ExtKeyUsageServerAuth)
	server.TLS = &tls.Config{Certificates: []tls.Certificate{pair}}
	if clientCA != nil {
		pool := x509.NewCertPool()
		pool.AddCert(clientCA.cert)
		server.TLS.ClientCAs = pool
		server.TLS.ClientAuth = tls.RequireAndVerifyClientCert
	}
	server.StartTLS()
	t.Cleanup(server.Close)
	return server
}

func runProbeArgs(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append([]string{"probe"}, args...), &stdout, &stderr)
	if stdout.Len() != 0 {
		t.Errorf("stdout = %q, want nothing", stdout.String())
	}
	return code, stderr.String()
}

func TestProbeHTTPS(t *testing.T) {
	ca := newTestCA(t, "stack-ca")
	impostorCA := newTestCA(t, "impostor-ca")
	_, clientCert, clientKey := ca.issue(t, x509.ExtKeyUsageClientAuth)
	_, impostorCert, impostorKey := impostorCA.issue(t, x509.ExtKeyUsageClientAuth)

	healthy := startProbeServer(t, ca, http.StatusOK, nil)
	sealed := startProbeServer(t, ca, http.StatusServiceUnavailable, nil)
	impostor := startProbeServer(t, impostorCA, http.StatusOK, nil)
	mutual := startProbeServer(t, ca, http.StatusOK, ca)

	tests := []struct {
		desc     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"healthy server", []string{healthy.URL + "/health", "-ca", ca.file}, 0, ""},
		{"flags before URL", []string{"-ca", ca.file, healthy.URL + "/health"}, 0, ""},
		{"status not 200", []string{sealed.URL + "/health", "-ca", ca.file}, 1, "status 503"},
		{"server from another CA", []string{impostor.URL + "/health", "-ca", ca.file}, 1, "certificate signed by unknown authority"},
		{"client certificate presented", []string{mutual.URL + "/health", "-ca", ca.file, "-cert", clientCert, "-key", clientKey}, 0, ""},
		{"client certificate missing", []string{mutual.URL + "/health", "-ca", ca.file}, 1, "certificate required"},
		// Go's TLS client withholds a certificate that chains to none of
		// the CAs the server accepts, so the server receives none.
		{"client certificate from another CA", []string{mutual.URL + "/health", "-ca", ca.file, "-cert", impostorCert, "-key", impostorKey}, 1, "certificate required"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			code, stderr := runProbeArgs(t, append([]string{"https"}, tt.args...)...)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d; stderr: %s", code, tt.wantCode, stderr)
			}
			if tt.wantErr != "" && !strings.Contains(stderr, tt.wantErr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tt.wantErr)
			}
		})
	}
}

func TestProbeHTTPSWrongHostName(t *testing.T) {
	ca := newTestCA(t, "stack-ca")
	server := startProbeServer(t, ca, http.StatusOK, nil)
	// The certificate names 127.0.0.1 only, so the same server reached as
	// localhost fails host name verification.
	url := strings.Replace(server.URL, "127.0.0.1", "localhost", 1)
	code, stderr := runProbeArgs(t, "https", url, "-ca", ca.file)
	if code != 1 {
		t.Errorf("exit code = %d, want 1", code)
	}
	if !strings.Contains(stderr, "localhost") {
		t.Errorf("stderr = %q, want a host name mismatch for localhost", stderr)
	}
}

func TestProbeTCP(t *testing.T) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	open := listener.Addr().String()
	t.Cleanup(func() { listener.Close() })

	closedListener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := closedListener.Addr().String()
	closedListener.Close()

	if code, stderr := runProbeArgs(t, "tcp", open); code != 0 {
		t.Errorf("open port: exit code = %d, want 0; stderr: %s", code, stderr)
	}
	code, stderr := runProbeArgs(t, "tcp", closed, "-timeout", "1s")
	if code != 1 {
		t.Errorf("closed port: exit code = %d, want 1", code)
	}
	if !strings.Contains(stderr, "connection refused") {
		t.Errorf("closed port: stderr = %q, want connection refused", stderr)
	}
}

func TestProbeUsageErrors(t *testing.T) {
	tests := []struct {
		desc    string
		args    []string
		wantErr string
	}{
		{"no kind", nil, "usage: bulwark probe"},
		{"unknown kind", []string{"udp", "x:1"}, `unknown probe "udp"`},
		{"tcp without target", []string{"tcp"}, "probe tcp needs HOST:PORT"},
		{"tcp target without port", []string{"tcp", "redis"}, `target "redis" is not HOST:PORT`},
		{"tcp with ca", []string{"tcp", "redis:6379", "-ca", "ca.pem"}, "apply only to probe https"},
		{"https without ca", []string{"https", "https://vault:8200/"}, "needs -ca FILE"},
		{"plain http URL", []string{"https", "http://vault:8200/", "-ca", "ca.pem"}, "is not an https:// URL"},
		{"cert without key", []string{"https", "https://consul:8501/", "-ca", "ca.pem", "-cert", "c.pem"}, "-cert and -key go together"},
		{"two targets", []string{"tcp", "a:1", "b:2"}, `unexpected argument "b:2"`},
		{"zero timeout", []string{"tcp", "a:1", "-timeout", "0s"}, "-timeout 0s is invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			code, stderr := runProbeArgs(t, tt.args...)
			if code != 2 {
				t.Errorf("exit code = %d, want 2", code)
			}
			if !strings.Contains(stderr, tt.wantErr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tt.wantErr)
			}
		})
	}
}

func TestProbeHTTPSMissingCAFile(t *testing.T) {
	code, stderr := runProbeArgs(t, "https", "https://127.0.0.1:1/", "-ca", filepath.Join(t.TempDir(), "none.pem"))
	if code != 1 {
		t.Errorf("exit code = %d, want 1", code)
	}
	if !strings.Contains(stderr, "read -ca") {
		t.Errorf("stderr = %q, want it to name -ca", stderr)
	}
}
