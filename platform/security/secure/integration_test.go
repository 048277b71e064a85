package secure_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go-micro.dev/v4/client"
	merrors "go-micro.dev/v4/errors"
	"go-micro.dev/v4/metadata"
	"go-micro.dev/v4/registry"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/bulwark-go/bulwark/internal/testenv"
	"github.com/bulwark-go/bulwark/platform/security/identity"
	"github.com/bulwark-go/bulwark/platform/security/mtls"
	"github.com/bulwark-go/bulwark/platform/security/pki"
	"github.com/bulwark-go/bulwark/platform/security/pki/pkitest"
	"github.com/bulwark-go/bulwark/platform/security/secure"
	"github.com/bulwark-go/bulwark/platform/security/vaultclient"
)

func vaultConfig(env *testenv.Env, name string) vaultclient.Config {
	role := env.AppRoles[name]
	return vaultclient.Config{
		Address:      env.VaultAddr,
		CAFile:       env.CAFile,
		RoleIDFile:   role.RoleIDFile,
		SecretIDFile: role.SecretIDFile,
	}
}

// cluster is inventory serving the probe and subscribing to order.placed,
// with orders and gateway as callers, all on Vault certificates.
type cluster struct {
	env       *testenv.Env
	reg       registry.Registry
	probe     *Probe
	events    chan received
	inventory *secure.Service
	orders    *secure.Service
	gateway   *secure.Service
}

func startCluster(t *testing.T, env *testenv.Env, tune func(*secure.Config)) *cluster {
	t.Helper()
	c := &cluster{
		env:    env,
		reg:    registry.NewMemoryRegistry(),
		probe:  &Probe{serials: map[string]bool{}},
		events: make(chan received, 100),
	}
	policy := writePolicy(t)
	cfg := func(name string) secure.Config {
		cfg := secure.Config{Name: name, Vault: vaultConfig(env, name), PolicyFile: policy, Registry: c.reg}
		if tune != nil {
			tune(&cfg)
		}
		return cfg
	}
	c.inventory = startService(t, cfg("inventory"), c.probe, c.events)
	c.orders = startService(t, cfg("orders"), nil, nil)
	c.gateway = startService(t, cfg("gateway"), nil, nil)
	return c
}

// jsonCodec lets a plain gRPC client speak the go-micro server's JSON codec.
type jsonCodec struct{}

func (jsonCodec) Marshal(v any) ([]byte, error)   { return json.Marshal(v) }
func (jsonCodec) Unmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
func (jsonCodec) Name() string                    { return "json" }

// plainCall calls the probe with a plain gRPC client.
func plainCall(t *testing.T, addr string, creds credentials.TransportCredentials, endpoint string) error {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	method := "/inventory.Probe/" + strings.TrimPrefix(endpoint, "Probe.")
	return conn.Invoke(ctx, method, &WhoamiRequest{}, &WhoamiResponse{}, grpc.ForceCodec(jsonCodec{}))
}

func TestServicesOverVaultMTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Consul and Vault")
	}
	env := testenv.Start(t, testenv.Options{})
	c := startCluster(t, env, nil)
	addr := serverAddress(t, c.reg)
	ctx := context.Background()

	t.Run("valid call sees caller", func(t *testing.T) {
		rsp, err := call(ctx, c.orders, "Probe.Whoami")
		if err != nil {
			t.Fatalf("call: %v", err)
		}
		if rsp.Caller != "orders" {
			t.Fatalf("handler saw caller %q, want orders", rsp.Caller)
		}
	})

	t.Run("allowed endpoint", func(t *testing.T) {
		if _, err := call(ctx, c.orders, "Probe.Reserve"); err != nil {
			t.Fatalf("orders calling Probe.Reserve: %v", err)
		}
	})

	t.Run("denied endpoint is 403", func(t *testing.T) {
		_, err := call(ctx, c.gateway, "Probe.Reserve")
		if microCode(err) != 403 {
			t.Fatalf("gateway calling Probe.Reserve = %v, want a 403", err)
		}
	})

	t.Run("denied endpoint is PermissionDenied for gRPC", func(t *testing.T) {
		creds := credentials.NewTLS(c.gateway.ClientTLSConfig())
		err := plainCall(t, addr, creds, "Probe.Reserve")
		if status.Code(err) != codes.PermissionDenied {
			t.Fatalf("plain gRPC call = %v, want PermissionDenied", err)
		}
		if err := plainCall(t, addr, creds, "Probe.Whoami"); err != nil {
			t.Fatalf("plain gRPC call of an allowed endpoint: %v", err)
		}
	})

	t.Run("forged metadata keeps identity", func(t *testing.T) {
		forged := metadata.NewContext(ctx, metadata.Metadata{
			"Micro-From-Service": "orders",
			"Remote":             "orders",
		})
		rsp, err := call(forged, c.gateway, "Probe.Whoami")
		if err != nil {
			t.Fatalf("call: %v", err)
		}
		if rsp.Caller != "gateway" {
			t.Fatalf("handler saw caller %q with forged metadata, want gateway", rsp.Caller)
		}
		_, err = call(forged, c.gateway, "Probe.Reserve")
		if microCode(err) != 403 {
			t.Fatalf("forged metadata call of Probe.Reserve = %v, want a 403", err)
		}
	})

	t.Run("plaintext rejected", func(t *testing.T) {
		err := plainCall(t, addr, insecure.NewCredentials(), "Probe.Whoami")
		wantConnectionRejected(t, err, "")
	})

	t.Run("no client certificate rejected", func(t *testing.T) {
		cfg := c.gateway.ClientTLSConfig()
		cfg.GetClientCertificate = nil
		err := plainCall(t, addr, credentials.NewTLS(cfg), "Probe.Whoami")
		wantConnectionRejected(t, err, "tls: certificate required")
	})

	t.Run("client certificate from other CA rejected", func(t *testing.T) {
		other := pkitest.NewCA(t)
		cfg := c.gateway.ClientTLSConfig()
		foreign := other.Leaf(t, "orders", time.Now().Add(-time.Minute), time.Now().Add(time.Hour))
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return foreign, nil }
		err := plainCall(t, addr, credentials.NewTLS(cfg), "Probe.Whoami")
		wantConnectionRejected(t, err, "tls: unknown certificate authority")
	})

	t.Run("expired client certificate rejected", func(t *testing.T) {
		expired := issueShortLived(t, env, "orders")
		for time.Now().Before(expired.Leaf.NotAfter.Add(time.Second)) {
			time.Sleep(200 * time.Millisecond)
		}
		cfg := c.gateway.ClientTLSConfig()
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return expired, nil }
		err := plainCall(t, addr, credentials.NewTLS(cfg), "Probe.Whoami")
		wantConnectionRejected(t, err, "tls: expired certificate")
	})

	t.Run("server from other CA refused", func(t *testing.T) {
		other := pkitest.NewCA(t)
		impostor := other.Leaf(t, "inventory", time.Now().Add(-time.Minute), time.Now().Add(time.Hour))
		ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
			Certificates: []tls.Certificate{*impostor},
			NextProtos:   []string{"h2"},
		})
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			for {
				conn, err := ln.Accept()
				if err != nil {
					return
				}
				go func() {
					defer conn.Close()
					_ = conn.(*tls.Conn).Handshake()
					_, _ = io.Copy(io.Discard, conn)
				}()
			}
		}()
		_, err = call(ctx, c.orders, "Probe.Whoami", client.WithAddress(ln.Addr().String()))
		if err == nil {
			t.Fatal("client accepted a server from another CA")
		}
		if !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("error = %v, want a certificate error", err)
		}
	})

	t.Run("server of another service refused", func(t *testing.T) {
		svcs, err := c.reg.GetService("gateway")
		if err != nil || len(svcs) == 0 || len(svcs[0].Nodes) == 0 {
			t.Fatalf("gateway is not registered: %v", err)
		}
		// A registry entry for inventory that points at gateway.
		_, err = call(ctx, c.orders, "Probe.Whoami", client.WithAddress(svcs[0].Nodes[0].Address))
		if err == nil || !strings.Contains(err.Error(), "answered by service gateway") {
			t.Fatalf("call = %v, want a refusal of the gateway server", err)
		}
	})

	t.Run("event arrives with publisher", func(t *testing.T) {
		if err := publish(c.orders, 7); err != nil {
			t.Fatalf("publish: %v", err)
		}
		select {
		case got := <-c.events:
			if got.publisher != "orders" || got.event.ID != 7 {
				t.Fatalf("received %+v, want ID 7 from orders", got)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("event did not arrive")
		}
	})

	t.Run("event from unauthorized publisher refused", func(t *testing.T) {
		if err := publish(c.gateway, 8); err == nil {
			t.Fatal("gateway published order.placed")
		}

		// A compromised gateway skips its own broker's check and posts to
		// the subscriber directly, with its valid Vault certificate. The
		// subscriber's check of the verified publisher must refuse it.
		svcs, err := c.reg.GetService("micro.http.broker")
		if err != nil || len(svcs) == 0 || len(svcs[0].Nodes) == 0 {
			t.Fatalf("no subscription registered: %v", err)
		}
		node := svcs[0].Nodes[0]
		direct := &http.Client{Transport: &http.Transport{
			TLSClientConfig: c.gateway.ClientTLSConfig(mtls.WithNextProtos("http/1.1")),
		}}
		body := `{"Header":{"Micro-Topic":"order.placed","Content-Type":"application/json"},"Body":"eyJJRCI6OH0="}`
		resp, err := direct.Post("https://"+node.Address+"/?id="+node.Id, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatalf("direct publish by gateway: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("direct publish by gateway: status %d, want 403", resp.StatusCode)
		}
		select {
		case got := <-c.events:
			t.Fatalf("event from gateway arrived: %+v", got)
		case <-time.After(200 * time.Millisecond):
		}
	})

	t.Run("plaintext and unauthenticated publish rejected", func(t *testing.T) {
		svcs, err := c.reg.GetService("micro.http.broker")
		if err != nil || len(svcs) == 0 {
			t.Fatalf("no subscription registered: %v", err)
		}
		node := svcs[0].Nodes[0]
		body := `{"Header":{"Micro-Topic":"order.placed","Content-Type":"application/json"},"Body":"eyJJRCI6OX0="}`
		base := "://" + node.Address + "/?id=" + node.Id

		// Go's TLS listener replies to a plaintext request with this 400
		// before any handler runs.
		resp, err := http.Post("http"+base, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatalf("plaintext publish: %v", err)
		}
		text, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(text), "HTTP request to an HTTPS server") {
			t.Fatalf("plaintext publish: %d %q, want 400 from the TLS listener", resp.StatusCode, text)
		}

		// The attacker's client skips server verification, so only the
		// subscriber's demand for a client certificate can stop it.
		noCert := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
		resp, err = noCert.Post("https"+base, "application/json", strings.NewReader(body))
		if err == nil {
			resp.Body.Close()
			t.Fatalf("publish without a client certificate: status %d, want the handshake rejected", resp.StatusCode)
		}
		if !rejectedInHandshake(err, "tls: certificate required") {
			t.Fatalf("publish without a client certificate: %v, want the TLS alert certificate required", err)
		}
		select {
		case got := <-c.events:
			t.Fatalf("unauthenticated event arrived: %+v", got)
		case <-time.After(200 * time.Millisecond):
		}
	})
}

// wantConnectionRejected fails the test unless err shows that the server
// closed the connection (gRPC Unavailable), so the call never reached the
// handler wrappers, which would fail it with Unauthenticated or
// PermissionDenied. When alert is set, the error must carry that TLS alert
// or a write on the connection that the server had already closed.
func wantConnectionRejected(t *testing.T, err error, alert string) {
	t.Helper()
	if err == nil {
		t.Fatal("call succeeded, want the connection rejected")
	}
	if code := status.Code(err); code != codes.Unavailable {
		t.Fatalf("call failed with %v (%v), want Unavailable from a rejected connection", code, err)
	}
	if alert != "" && !rejectedInHandshake(err, alert) {
		t.Fatalf("call failed with %v, want the TLS alert %q", err, alert)
	}
}

// rejectedInHandshake reports whether err carries the TLS alert, or shows
// that the peer closed the connection before the client read the alert. In
// TLS 1.3 the client finishes its handshake before the server checks the
// client certificate, so its first write can race the server's alert.
func rejectedInHandshake(err error, alert string) bool {
	for _, text := range []string{alert, "broken pipe", "connection reset by peer"} {
		if strings.Contains(err.Error(), text) {
			return true
		}
	}
	return false
}

// issueShortLived issues a certificate of service from Vault with a TTL of
// two seconds.
func issueShortLived(t *testing.T, env *testenv.Env, service string) *tls.Certificate {
	t.Helper()
	vc, err := vaultclient.New(context.Background(), vaultConfig(env, service))
	if err != nil {
		t.Fatal(err)
	}
	defer vc.Close()
	secret, err := vc.API().Logical().Write("pki_int/issue/"+service, map[string]any{
		"common_name":        identity.DNSName(service),
		"uri_sans":           identity.URI(service),
		"ttl":                "2s",
		"private_key_format": "pkcs8",
	})
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair([]byte(secret.Data["certificate"].(string)+"\n"+secret.Data["issuing_ca"].(string)),
		[]byte(secret.Data["private_key"].(string)))
	if err != nil {
		t.Fatal(err)
	}
	if err := pki.VerifyLeaf(&cert, service, env.CAPool, time.Now()); err != nil {
		t.Fatalf("short-lived certificate does not verify: %v", err)
	}
	return &cert
}

// microCode returns the go-micro error code of err, or 0 when err is nil.
func microCode(err error) int32 {
	if err == nil {
		return 0
	}
	return merrors.FromError(err).Code
}
