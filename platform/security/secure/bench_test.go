package secure_test

import (
	"context"
	"crypto/tls"
	"net"
	"sort"
	"testing"
	"time"

	gclient "github.com/go-micro/plugins/v4/client/grpc"
	gserver "github.com/go-micro/plugins/v4/server/grpc"
	"go-micro.dev/v4/client"
	"go-micro.dev/v4/registry"
	"go-micro.dev/v4/selector"
	"go-micro.dev/v4/server"

	"github.com/bulwark-go/bulwark/platform/security/mtls"
	"github.com/bulwark-go/bulwark/platform/security/pki"
	"github.com/bulwark-go/bulwark/platform/security/pki/pkitest"
	"github.com/bulwark-go/bulwark/platform/security/secure"
)

// benchSource returns a certificate source of service backed by an
// in-memory CA, with the same chain shape as Vault's (EC P-256 leaf and
// intermediate).
func benchSource(b *testing.B, ca *pkitest.CA, service string) *pki.Source {
	src, err := pki.NewSource(context.Background(), pki.Config{
		Service: service,
		Issuer:  ca.Issuer(b, service, time.Hour, time.Now),
		Bundle:  pki.NewBundle(ca.Root),
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(src.Close)
	return src
}

// measure runs fn b.N times and reports the median latency as p50-ns.
func measure(b *testing.B, fn func() error) {
	samples := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if err := fn(); err != nil {
			b.Fatal(err)
		}
		samples = append(samples, time.Since(start))
	}
	b.StopTimer()
	sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
	b.ReportMetric(float64(samples[len(samples)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(samples[len(samples)*99/100].Nanoseconds()), "p99-ns")
}

// plainServer starts a go-micro gRPC server without TLS, or with the mTLS
// server config when src is set, serving the probe.
func plainServer(b *testing.B, reg registry.Registry, src mtls.Source) {
	opts := []server.Option{
		server.Name("inventory"),
		server.Id("bench"),
		server.Address("127.0.0.1:0"),
		server.Registry(reg),
	}
	if src != nil {
		opts = append(opts, gserver.AuthTLS(mtls.ServerConfig(src)))
	}
	srv := gserver.NewServer(opts...)
	if err := srv.Handle(srv.NewHandler(&Probe{serials: map[string]bool{}})); err != nil {
		b.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { srv.Stop() })
}

func benchClient(reg registry.Registry, src mtls.Source) client.Client {
	opts := []client.Option{
		client.Registry(reg),
		client.Selector(selector.NewSelector(selector.Registry(reg))),
	}
	if src != nil {
		opts = append(opts, gclient.AuthTLS(mtls.ClientConfig(src)))
	}
	return gclient.NewClient(opts...)
}

func callOnce(c client.Client) error {
	req := c.NewRequest("inventory", "Probe.Whoami", &WhoamiRequest{}, client.WithContentType("application/json"))
	return c.Call(context.Background(), req, &WhoamiResponse{})
}

// BenchmarkCall measures one small go-micro call on a reused connection:
// plaintext, with mTLS, and through secure.NewService (mTLS and
// authorization). Compare the p50-ns metrics of one run.
func BenchmarkCall(b *testing.B) {
	ca := pkitest.NewCA(b)
	b.Run("plaintext", func(b *testing.B) {
		reg := registry.NewMemoryRegistry()
		plainServer(b, reg, nil)
		c := benchClient(reg, nil)
		measure(b, func() error { return callOnce(c) })
	})
	b.Run("mtls", func(b *testing.B) {
		reg := registry.NewMemoryRegistry()
		plainServer(b, reg, benchSource(b, ca, "inventory"))
		c := benchClient(reg, benchSource(b, ca, "orders"))
		measure(b, func() error { return callOnce(c) })
	})
	b.Run("mtls_authz", func(b *testing.B) {
		reg := registry.NewMemoryRegistry()
		policy := writePolicy(b)
		cfg := func(name string) secure.Config {
			return secure.Config{Name: name, PolicyFile: policy, Registry: reg, Certificates: benchSource(b, ca, name)}
		}
		startService(b, cfg("inventory"), &Probe{serials: map[string]bool{}}, nil)
		orders := startService(b, cfg("orders"), nil, nil)
		measure(b, func() error { return callOnce(orders.Client()) })
	})
}

// BenchmarkHandshake measures a fresh mTLS handshake over loopback TCP with
// the service configs, including certificate and identity verification on
// both sides.
func BenchmarkHandshake(b *testing.B) {
	ca := pkitest.NewCA(b)
	serverCfg := mtls.ServerConfig(benchSource(b, ca, "inventory"))
	clientCfg := mtls.ClientConfig(benchSource(b, ca, "orders"))
	clientCfg.ClientSessionCache = nil
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
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
				tc := tls.Server(conn, serverCfg)
				if tc.Handshake() == nil {
					buf := make([]byte, 1)
					_, _ = tc.Read(buf)
				}
			}()
		}
	}()
	measure(b, func() error {
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			return err
		}
		defer conn.Close()
		tc := tls.Client(conn, clientCfg)
		if err := tc.Handshake(); err != nil {
			return err
		}
		_, err = tc.Write([]byte{0})
		return err
	})
}
