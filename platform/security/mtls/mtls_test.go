package mtls_test

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/platform/security/identity"
	"github.com/bulwark-go/bulwark/platform/security/mtls"
	"github.com/bulwark-go/bulwark/platform/security/pki/pkitest"
)

// staticSource is a Source with a fixed certificate and a replaceable CA
// bundle.
type staticSource struct {
	mu    sync.Mutex
	cert  *tls.Certificate
	roots *x509.CertPool
}

func (s *staticSource) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return s.cert, nil
}

func (s *staticSource) GetClientCertificate(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	if s.cert == nil {
		return &tls.Certificate{}, nil // no certificate
	}
	return s.cert, nil
}

func (s *staticSource) Roots() *x509.CertPool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.roots
}

func (s *staticSource) setRoots(p *x509.CertPool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.roots = p
}

// handshake runs a TLS handshake between the two configs over a loopback TCP
// connection and returns both sides' errors and the server's view. TCP
// buffers the last flight, so a TLS 1.3 client whose certificate the server
// rejects finishes its own handshake without blocking.
func handshake(t *testing.T, serverCfg, clientCfg *tls.Config) (clientErr, serverErr error, state tls.ConnectionState) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		conn, err := ln.Accept()
		if err != nil {
			serverErr = err
			return
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		server := tls.Server(conn, serverCfg)
		serverErr = server.Handshake()
		state = server.ConnectionState()
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	clientErr = tls.Client(conn, clientCfg).Handshake()
	if clientErr != nil {
		conn.Close()
	}
	<-done
	return clientErr, serverErr, state
}

type peers struct {
	ca, other *pkitest.CA
	now       time.Time
}

func newPeers(t *testing.T) peers {
	return peers{ca: pkitest.NewCA(t), other: pkitest.NewCA(t), now: time.Now()}
}

func (p peers) source(cert *tls.Certificate) *staticSource {
	return &staticSource{cert: cert, roots: p.ca.Pool()}
}

func (p peers) valid(t *testing.T, service string) *tls.Certificate {
	return p.ca.Leaf(t, service, p.now.Add(-time.Minute), p.now.Add(time.Hour))
}

func TestServerAcceptsValidClient(t *testing.T) {
	p := newPeers(t)
	server := mtls.ServerConfig(p.source(p.valid(t, "orders")))
	client := mtls.ClientConfig(p.source(p.valid(t, "gateway")))
	clientErr, serverErr, state := handshake(t, server, client)
	if clientErr != nil || serverErr != nil {
		t.Fatalf("handshake: client %v, server %v", clientErr, serverErr)
	}
	name, err := identity.FromConnectionState(state)
	if err != nil {
		t.Fatalf("FromConnectionState: %v", err)
	}
	if name != "gateway" {
		t.Fatalf("server sees caller %q, want gateway", name)
	}
	if state.Version != tls.VersionTLS13 {
		t.Fatalf("version = %x, want TLS 1.3", state.Version)
	}
	if state.NegotiatedProtocol != "h2" {
		t.Fatalf("ALPN = %q, want h2", state.NegotiatedProtocol)
	}
}

func TestServerRejectsClient(t *testing.T) {
	p := newPeers(t)
	leaf := func(opts pkitest.LeafOptions) func(t *testing.T) *tls.Certificate {
		return func(t *testing.T) *tls.Certificate {
			if opts.NotBefore.IsZero() {
				opts.NotBefore = p.now.Add(-time.Minute)
			}
			return p.ca.LeafWith(t, "gateway", opts)
		}
	}
	tests := []struct {
		desc      string
		cert      func(t *testing.T) *tls.Certificate
		authorize mtls.Authorizer
		clientMax uint16
		wantErr   string
	}{
		{desc: "no certificate", cert: func(*testing.T) *tls.Certificate { return nil }, wantErr: "certificate"},
		{
			desc: "other CA",
			cert: func(t *testing.T) *tls.Certificate {
				return p.other.Leaf(t, "gateway", p.now.Add(-time.Minute), p.now.Add(time.Hour))
			},
			wantErr: "unknown authority",
		},
		{
			desc:    "expired",
			cert:    leaf(pkitest.LeafOptions{NotBefore: p.now.Add(-2 * time.Hour), NotAfter: p.now.Add(-time.Hour)}),
			wantErr: "expired",
		},
		{desc: "no URI SAN", cert: leaf(pkitest.LeafOptions{URIs: []string{}}), wantErr: "no URI SAN"},
		{
			desc:    "other trust domain",
			cert:    leaf(pkitest.LeafOptions{URIs: []string{"spiffe://evil.internal/service/gateway"}}),
			wantErr: "not a SPIFFE ID of trust domain",
		},
		{
			desc:    "two URI SANs",
			cert:    leaf(pkitest.LeafOptions{URIs: []string{identity.URI("gateway"), identity.URI("orders")}}),
			wantErr: "exactly one",
		},
		{
			desc:    "server usage only",
			cert:    leaf(pkitest.LeafOptions{ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}),
			wantErr: "incompatible key usage",
		},
		{
			desc:      "not authorized",
			cert:      leaf(pkitest.LeafOptions{}),
			authorize: mtls.AuthorizeOneOf("users"),
			wantErr:   "not one of the expected services",
		},
		{desc: "TLS 1.2", cert: leaf(pkitest.LeafOptions{}), clientMax: tls.VersionTLS12, wantErr: "unsupported versions"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			var opts []mtls.Option
			if tt.authorize != nil {
				opts = append(opts, mtls.WithAuthorizer(tt.authorize))
			}
			server := mtls.ServerConfig(p.source(p.valid(t, "orders")), opts...)
			client := mtls.ClientConfig(p.source(tt.cert(t)))
			if tt.clientMax != 0 {
				client.MinVersion, client.MaxVersion = tls.VersionTLS12, tt.clientMax
			}
			_, serverErr, _ := handshake(t, server, client)
			if serverErr == nil {
				t.Fatal("server accepted the client")
			}
			if !strings.Contains(serverErr.Error(), tt.wantErr) {
				t.Fatalf("server error = %v, want it to contain %q", serverErr, tt.wantErr)
			}
		})
	}
}

func TestClientRejectsServer(t *testing.T) {
	p := newPeers(t)
	leaf := func(opts pkitest.LeafOptions) func(t *testing.T) *tls.Certificate {
		return func(t *testing.T) *tls.Certificate {
			if opts.NotBefore.IsZero() {
				opts.NotBefore = p.now.Add(-time.Minute)
			}
			return p.ca.LeafWith(t, "orders", opts)
		}
	}
	tests := []struct {
		desc      string
		cert      func(t *testing.T) *tls.Certificate
		authorize mtls.Authorizer
		wantErr   string
	}{
		{
			desc: "other CA",
			cert: func(t *testing.T) *tls.Certificate {
				return p.other.Leaf(t, "orders", p.now.Add(-time.Minute), p.now.Add(time.Hour))
			},
			wantErr: "unknown authority",
		},
		{
			desc:    "expired",
			cert:    leaf(pkitest.LeafOptions{NotBefore: p.now.Add(-2 * time.Hour), NotAfter: p.now.Add(-time.Hour)}),
			wantErr: "expired",
		},
		{desc: "no URI SAN", cert: leaf(pkitest.LeafOptions{URIs: []string{}}), wantErr: "no URI SAN"},
		{
			desc:    "other trust domain",
			cert:    leaf(pkitest.LeafOptions{URIs: []string{"spiffe://evil.internal/service/orders"}}),
			wantErr: "not a SPIFFE ID of trust domain",
		},
		{
			desc:    "two URI SANs",
			cert:    leaf(pkitest.LeafOptions{URIs: []string{identity.URI("orders"), identity.URI("users")}}),
			wantErr: "exactly one",
		},
		{
			desc:    "client usage only",
			cert:    leaf(pkitest.LeafOptions{ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}),
			wantErr: "incompatible key usage",
		},
		{
			desc:      "unexpected service",
			cert:      leaf(pkitest.LeafOptions{}),
			authorize: mtls.AuthorizeOneOf("users"),
			wantErr:   "not one of the expected services",
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			var opts []mtls.Option
			if tt.authorize != nil {
				opts = append(opts, mtls.WithAuthorizer(tt.authorize))
			}
			// The server verifies its clients with the plain library
			// check, so that only the client's check is under test.
			server := &tls.Config{Certificates: []tls.Certificate{*tt.cert(t)}, NextProtos: []string{"h2"}}
			client := mtls.ClientConfig(p.source(p.valid(t, "gateway")), opts...)
			clientErr, _, _ := handshake(t, server, client)
			if clientErr == nil {
				t.Fatal("client accepted the server")
			}
			if !strings.Contains(clientErr.Error(), tt.wantErr) {
				t.Fatalf("client error = %v, want it to contain %q", clientErr, tt.wantErr)
			}
		})
	}
}

func TestClientAcceptsServerByIP(t *testing.T) {
	p := newPeers(t)
	server := mtls.ServerConfig(p.source(p.valid(t, "orders")))
	client := mtls.ClientConfig(p.source(p.valid(t, "gateway")), mtls.WithAuthorizer(mtls.AuthorizeOneOf("orders")))
	// gRPC sets ServerName to the host of the dial address.
	client.ServerName = "127.0.0.1"
	if clientErr, serverErr, _ := handshake(t, server, client); clientErr != nil || serverErr != nil {
		t.Fatalf("handshake: client %v, server %v", clientErr, serverErr)
	}
}

func TestServerAppliesNewCABundle(t *testing.T) {
	p := newPeers(t)
	serverSource := p.source(p.valid(t, "orders"))
	server := mtls.ServerConfig(serverSource)
	fromOther := &staticSource{cert: p.other.Leaf(t, "gateway", p.now.Add(-time.Minute), p.now.Add(time.Hour)), roots: p.ca.Pool()}
	if _, serverErr, _ := handshake(t, server, mtls.ClientConfig(fromOther)); serverErr == nil {
		t.Fatal("server accepted a CA outside its bundle")
	}
	both := p.ca.Pool()
	both.AddCert(p.other.Root)
	serverSource.setRoots(both)
	if clientErr, serverErr, _ := handshake(t, server, mtls.ClientConfig(fromOther)); clientErr != nil || serverErr != nil {
		t.Fatalf("handshake after adding the CA: client %v, server %v", clientErr, serverErr)
	}
}

func TestExpiryFollowsClock(t *testing.T) {
	p := newPeers(t)
	later := func() time.Time { return p.now.Add(2 * time.Hour) }
	server := mtls.ServerConfig(p.source(p.valid(t, "orders")), mtls.WithTime(later))
	client := mtls.ClientConfig(p.source(p.valid(t, "gateway")))
	if _, serverErr, _ := handshake(t, server, client); serverErr == nil || !strings.Contains(serverErr.Error(), "expired") {
		t.Fatalf("server error two hours later = %v, want expired", serverErr)
	}
}

func TestRegistryClientConfigVerifiesHostName(t *testing.T) {
	p := newPeers(t)
	consul := p.ca.LeafWith(t, "consul", pkitest.LeafOptions{NotBefore: p.now.Add(-time.Minute), DNSNames: []string{"server.dc1.consul"}})
	server := &tls.Config{Certificates: []tls.Certificate{*consul}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: p.ca.Pool()}
	cfg, err := mtls.RegistryClientConfig(p.source(p.valid(t, "orders")), "server.dc1.consul")
	if err != nil {
		t.Fatal(err)
	}
	if clientErr, serverErr, _ := handshake(t, server, cfg); clientErr != nil || serverErr != nil {
		t.Fatalf("handshake: client %v, server %v", clientErr, serverErr)
	}
	wrong, err := mtls.RegistryClientConfig(p.source(p.valid(t, "orders")), "evil.example")
	if err != nil {
		t.Fatal(err)
	}
	if clientErr, _, _ := handshake(t, server, wrong); clientErr == nil || !strings.Contains(clientErr.Error(), "evil.example") {
		t.Fatalf("client error for a wrong host name = %v, want a host-name mismatch", clientErr)
	}
	if wrong.InsecureSkipVerify {
		t.Fatal("registry config skips verification")
	}
}
