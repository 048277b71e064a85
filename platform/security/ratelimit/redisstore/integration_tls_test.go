package redisstore

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bulwark-go/bulwark/internal/testenv"
	"github.com/bulwark-go/bulwark/platform/security/pki"
	"github.com/bulwark-go/bulwark/platform/security/ratelimit"
	"github.com/bulwark-go/bulwark/platform/security/ratelimit/internal/testca"
	"github.com/bulwark-go/bulwark/platform/security/vaultclient"
)

// serviceTLS returns the client TLS config that a service uses for Redis:
// TLS 1.3, Redis's certificate checked against the root CA, and the
// service's rotating Vault certificate as the client certificate. Each
// call logs in to Vault and starts a certificate source of its own, as a
// separate service instance would.
func serviceTLS(t *testing.T, env *testenv.Env, service string) *tls.Config {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	role := env.AppRoles[service]
	vault, err := vaultclient.New(ctx, vaultclient.Config{
		Address: env.VaultAddr, CAFile: env.CAFile, RoleIDFile: role.RoleIDFile, SecretIDFile: role.SecretIDFile, Logger: log,
	})
	if err != nil {
		t.Fatalf("log in to Vault as %s: %v", service, err)
	}
	t.Cleanup(vault.Close)

	bundle, err := pki.LoadBundle(env.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	issuer, err := pki.NewVaultIssuer(vault.API(), service)
	if err != nil {
		t.Fatal(err)
	}
	source, err := pki.NewSource(ctx, pki.Config{Service: service, Issuer: issuer, Bundle: bundle, Logger: log})
	if err != nil {
		t.Fatalf("certificate source of %s: %v", service, err)
	}
	t.Cleanup(source.Close)

	return &tls.Config{
		MinVersion:           tls.VersionTLS13,
		RootCAs:              source.Roots(),
		GetClientCertificate: source.GetClientCertificate,
	}
}

// tlsClient returns a client of addr that logs in as user.
func tlsClient(t *testing.T, addr string, user testenv.RedisUser, config *tls.Config) *redis.Client {
	t.Helper()
	c, err := NewClient(ClientOptions{Addr: addr, Username: user.Username, PasswordFile: user.PasswordFile, TLS: config})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func ping(c *redis.Client) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return c.Ping(ctx).Err()
}

// TestRedisTLS shows each protection of the Redis link against a real
// redis-server that listens only on TLS and demands client certificates.
func TestRedisTLS(t *testing.T) {
	env := startRedis(t)
	// The PING checks log in as the operator, because the services' users
	// may run only the store's commands.
	operator := testenv.RedisUser{Username: env.RedisUsername, PasswordFile: env.RedisPasswordFile}
	password, err := os.ReadFile(env.RedisPasswordFile)
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte(strings.TrimSpace(string(password)))
	service := serviceTLS(t, env, "orders")

	t.Run("service certificate accepted", func(t *testing.T) {
		if err := ping(tlsClient(t, env.RedisAddr, operator, service)); err != nil {
			t.Fatalf("PING with the service certificate: %v", err)
		}
	})

	t.Run("client without certificate rejected", func(t *testing.T) {
		config := &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: env.CAPool}
		err := ping(tlsClient(t, env.RedisAddr, operator, config))
		if err == nil || !strings.Contains(err.Error(), "certificate required") {
			t.Fatalf("PING without a client certificate = %v, want Redis's certificate required alert", err)
		}
	})

	t.Run("client certificate from another CA rejected", func(t *testing.T) {
		foreign := testca.New(t)
		config := &tls.Config{
			MinVersion:   tls.VersionTLS13,
			RootCAs:      env.CAPool,
			Certificates: []tls.Certificate{foreign.Leaf(t, "orders")},
		}
		err := ping(tlsClient(t, env.RedisAddr, operator, config))
		if err == nil || !strings.Contains(err.Error(), "unknown certificate authority") {
			t.Fatalf("PING with a certificate from another CA = %v, want Redis's unknown CA alert", err)
		}
	})

	t.Run("plaintext client rejected", func(t *testing.T) {
		err := ping(tlsClient(t, env.RedisAddr, operator, nil))
		if err == nil {
			t.Fatal("Redis answered a plaintext client")
		}
	})

	t.Run("password required over TLS", func(t *testing.T) {
		err := ping(tlsClient(t, env.RedisAddr, testenv.RedisUser{}, service))
		if err == nil || !strings.Contains(err.Error(), "NOAUTH") {
			t.Fatalf("PING without a password = %v, want NOAUTH", err)
		}
		wrong := t.TempDir() + "/password"
		if err := os.WriteFile(wrong, []byte("not-the-password\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		err = ping(tlsClient(t, env.RedisAddr, testenv.RedisUser{Username: env.RedisUsername, PasswordFile: wrong}, service))
		if err == nil || !strings.Contains(err.Error(), "WRONGPASS") {
			t.Fatalf("PING with a wrong password = %v, want WRONGPASS", err)
		}
	})

	t.Run("server certificate from another CA rejected", func(t *testing.T) {
		rogue := startRogueRedis(t, testca.New(t))
		err := ping(tlsClient(t, rogue.addr, operator, service))
		if err == nil {
			t.Fatal("the client accepted a Redis server certificate from another CA")
		}
		if !errors.As(err, new(*tls.CertificateVerificationError)) {
			t.Errorf("PING error = %v, want a certificate verification error", err)
		}
		if received := rogue.received(); bytes.Contains(received, secret) {
			t.Fatal("the client sent the Redis password to a server with a foreign certificate")
		}
	})

	t.Run("wire carries no plaintext", func(t *testing.T) {
		tap := startTap(t, env.RedisAddr)
		orders := env.RedisUsers["orders"]
		ordersPassword, err := os.ReadFile(orders.PasswordFile)
		if err != nil {
			t.Fatal(err)
		}
		store, err := New(Options{Client: tlsClient(t, tap.addr, orders, service), Prefix: servicePrefix("orders", "tls"), OnError: FailClosed})
		if err != nil {
			t.Fatal(err)
		}
		r, err := store.Take(context.Background(), ratelimit.Key{Scope: "Orders.Create", Subject: "gateway"},
			ratelimit.PerSecond(1, 1), 0)
		if err != nil || !r.Allowed {
			t.Fatalf("Take through the tap = %+v, %v; want allowed", r, err)
		}
		sent := tap.sent()
		// 0x16 0x03 starts a TLS handshake record; RESP starts with '*'.
		if len(sent) < 2 || sent[0] != 0x16 || sent[1] != 0x03 {
			t.Fatalf("the client's first bytes are %q, want a TLS handshake record", sent[:min(len(sent), 16)])
		}
		for _, plain := range [][]byte{bytes.TrimSpace(ordersPassword), []byte("orders"), []byte("HELLO"), []byte("EVALSHA"), []byte(":tls:")} {
			if bytes.Contains(sent, plain) {
				t.Errorf("the client sent %q in plaintext", plain)
			}
		}
	})
}

// rogueRedis is a TLS listener that records what clients send after the
// handshake, standing in for an attacker who impersonates Redis.
type rogueRedis struct {
	addr string
	mu   sync.Mutex
	data []byte
}

func (r *rogueRedis) received() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return bytes.Clone(r.data)
}

// startRogueRedis listens on loopback with a certificate from ca that names
// 127.0.0.1, so only the CA differs from the real Redis.
func startRogueRedis(t *testing.T, ca *testca.CA) *rogueRedis {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	template := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "redis"},
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, template, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		t.Fatal(err)
	}

	config := &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", config)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })

	rogue := &rogueRedis{addr: ln.Addr().String()}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
				buf := make([]byte, 4096)
				for {
					n, err := conn.Read(buf)
					rogue.mu.Lock()
					rogue.data = append(rogue.data, buf[:n]...)
					rogue.mu.Unlock()
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	return rogue
}

// tap is a loopback TCP proxy that records the bytes clients send to the
// upstream address, as a sniffer on the network would see them.
type tap struct {
	addr string
	mu   sync.Mutex
	data []byte
}

func (p *tap) sent() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return bytes.Clone(p.data)
}

func (p *tap) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.data = append(p.data, b...)
	return len(b), nil
}

func startTap(t *testing.T, upstream string) *tap {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	p := &tap{addr: ln.Addr().String()}
	go func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			server, err := net.DialTimeout("tcp", upstream, time.Second)
			if err != nil {
				client.Close()
				continue
			}
			go func() {
				defer server.Close()
				_, _ = io.Copy(io.MultiWriter(server, p), client)
			}()
			go func() {
				defer client.Close()
				_, _ = io.Copy(client, server)
			}()
		}
	}()
	return p
}
