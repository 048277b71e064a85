package pki_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"log/slog"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/platform/security/internal/clock"
	"github.com/bulwark-go/bulwark/platform/security/pki"
	"github.com/bulwark-go/bulwark/platform/security/pki/pkitest"
)

type fixture struct {
	ca     *pkitest.CA
	clock  *clock.Fake
	issuer *pkitest.Issuer
	source *pki.Source
	logs   *bytes.Buffer
}

func newFixture(t *testing.T, ttl time.Duration) *fixture {
	t.Helper()
	f := &fixture{ca: pkitest.NewCA(t), clock: clock.NewFake(time.Now().Truncate(time.Second)), logs: &bytes.Buffer{}}
	f.issuer = f.ca.Issuer(t, "orders", ttl, f.clock.Now)
	src, err := pki.NewSource(context.Background(), pki.Config{
		Service: "orders",
		Issuer:  f.issuer,
		Bundle:  pki.NewBundle(f.ca.Root),
		Logger:  slog.New(slog.NewJSONHandler(f.logs, nil)),
		Clock:   f.clock,
	})
	if err != nil {
		t.Fatalf("NewSource: %v", err)
	}
	t.Cleanup(src.Close)
	f.source = src
	return f
}

// fire waits for the rotation loop's timer, advances the fake clock to it,
// waits for the next timer, and returns the time the first one fired.
func (f *fixture) fire(t *testing.T) time.Time {
	t.Helper()
	if !f.clock.WaitForTimers(1, 5*time.Second) {
		t.Fatal("rotation loop armed no timer")
	}
	at, _ := f.clock.NextDeadline()
	f.clock.Advance(at.Sub(f.clock.Now()))
	if !f.clock.WaitForTimers(1, 5*time.Second) {
		t.Fatal("rotation loop armed no timer after firing")
	}
	return at
}

func currentSerial(t *testing.T, src *pki.Source) string {
	t.Helper()
	cert, err := src.Certificate()
	if err != nil {
		t.Fatalf("Certificate: %v", err)
	}
	return pki.Serial(cert.Leaf)
}

func TestSourceRotatesAtTwoThirds(t *testing.T) {
	f := newFixture(t, time.Hour)
	first := currentSerial(t, f.source)
	issuedAt := f.clock.Now()

	at := f.fire(t)
	if d := at.Sub(issuedAt); d < 34*time.Minute || d > 40*time.Minute {
		t.Fatalf("rotated %v after issue, want between 34m and 40m", d)
	}
	second := currentSerial(t, f.source)
	if second == first {
		t.Fatal("serial unchanged after rotation")
	}
	hello, err := f.source.GetCertificate(&tls.ClientHelloInfo{})
	if err != nil {
		t.Fatalf("GetCertificate: %v", err)
	}
	if pki.Serial(hello.Leaf) != second {
		t.Fatal("GetCertificate does not return the rotated certificate")
	}
	if !strings.Contains(f.logs.String(), "rotated service certificate") {
		t.Fatalf("rotation not logged: %s", f.logs.String())
	}
	if !strings.Contains(f.logs.String(), first) || !strings.Contains(f.logs.String(), second) {
		t.Fatal("rotation log lacks the serials")
	}
	if !strings.Contains(f.logs.String(), "not_after") {
		t.Fatalf("rotation log lacks the expiry: %s", f.logs.String())
	}
	if strings.Contains(f.logs.String(), "PRIVATE KEY") {
		t.Fatalf("log contains a PEM private key: %s", f.logs.String())
	}
	key, ok := hello.PrivateKey.(*ecdsa.PrivateKey)
	if !ok {
		t.Fatalf("private key is %T, want *ecdsa.PrivateKey", hello.PrivateKey)
	}
	scalar, err := key.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	for _, form := range []string{hex.EncodeToString(scalar), new(big.Int).SetBytes(scalar).String()} {
		if strings.Contains(f.logs.String(), form) {
			t.Fatalf("log contains the private key scalar: %s", f.logs.String())
		}
	}
}

func TestSourceKeepsServingWhileIssuerDown(t *testing.T) {
	f := newFixture(t, time.Hour)
	first := currentSerial(t, f.source)
	f.issuer.SetError(errors.New("dial tcp 127.0.0.1:8200: connect: connection refused"))

	// Fail until just before expiry: the certificate stays in use.
	expiry := f.clock.Now().Add(time.Hour)
	for f.clock.Now().Before(expiry.Add(-2 * pki.DefaultMaxRetryDelay)) {
		f.fire(t)
		if got := currentSerial(t, f.source); got != first {
			t.Fatalf("serial = %s while the issuer fails, want %s", got, first)
		}
	}
	if !strings.Contains(f.logs.String(), "certificate renewal failed") {
		t.Fatal("failed renewal not logged")
	}
	// Past expiry the certificate cannot be served.
	for !f.clock.Now().After(expiry) {
		f.fire(t)
	}
	if _, err := f.source.Certificate(); !errors.Is(err, pki.ErrExpired) {
		t.Fatalf("Certificate after expiry = %v, want ErrExpired", err)
	}
	if !strings.Contains(f.logs.String(), "service certificate expired") {
		t.Fatal("expiry not logged")
	}
	// Rotation resumes when the issuer returns.
	f.issuer.SetError(nil)
	f.fire(t)
	if got := currentSerial(t, f.source); got == first {
		t.Fatal("serial unchanged after the issuer returned")
	}
}

func TestSourceRejectsBadCertificates(t *testing.T) {
	other := pkitest.NewCA(t)
	tests := []struct {
		desc    string
		cert    func(f *fixture) *tls.Certificate
		wantErr string
	}{
		{
			desc: "other service",
			cert: func(f *fixture) *tls.Certificate {
				return f.ca.Leaf(t, "gateway", f.clock.Now(), f.clock.Now().Add(time.Hour))
			},
			wantErr: `names service \"gateway\"`,
		},
		{
			desc: "other CA",
			cert: func(f *fixture) *tls.Certificate {
				return other.Leaf(t, "orders", f.clock.Now(), f.clock.Now().Add(time.Hour))
			},
			wantErr: "does not verify against the CA bundle",
		},
		{
			desc: "key mismatch",
			cert: func(f *fixture) *tls.Certificate {
				a := f.ca.Leaf(t, "orders", f.clock.Now(), f.clock.Now().Add(time.Hour))
				b := f.ca.Leaf(t, "orders", f.clock.Now(), f.clock.Now().Add(time.Hour))
				a.PrivateKey = b.PrivateKey
				return a
			},
			wantErr: "private key does not match",
		},
		{
			desc: "server usage only",
			cert: func(f *fixture) *tls.Certificate {
				return f.ca.LeafWith(t, "orders", pkitest.LeafOptions{NotBefore: f.clock.Now(),
					ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
			},
			wantErr: "does not verify",
		},
		{
			desc: "two URI SANs",
			cert: func(f *fixture) *tls.Certificate {
				return f.ca.LeafWith(t, "orders", pkitest.LeafOptions{NotBefore: f.clock.Now(),
					URIs: []string{"spiffe://bulwark.internal/service/orders", "spiffe://bulwark.internal/service/gateway"}})
			},
			wantErr: "exactly one",
		},
		{
			desc: "expired",
			cert: func(f *fixture) *tls.Certificate {
				return f.ca.Leaf(t, "orders", f.clock.Now().Add(-2*time.Hour), f.clock.Now().Add(-time.Hour))
			},
			wantErr: "expired",
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			f := newFixture(t, time.Hour)
			first := currentSerial(t, f.source)
			bad := tt.cert(f)
			f.issuer.SetOverride(func() *tls.Certificate { return bad })
			f.fire(t)
			if got := currentSerial(t, f.source); got != first {
				t.Fatalf("source switched to the bad certificate %s", got)
			}
			if !strings.Contains(f.logs.String(), tt.wantErr) {
				t.Fatalf("log does not contain %q: %s", tt.wantErr, f.logs.String())
			}
		})
	}
}

func TestNewSourceFailsWithoutCertificate(t *testing.T) {
	ca := pkitest.NewCA(t)
	issuer := ca.Issuer(t, "orders", time.Hour, time.Now)
	issuer.SetError(errors.New("permission denied"))
	_, err := pki.NewSource(context.Background(), pki.Config{Service: "orders", Issuer: issuer, Bundle: pki.NewBundle(ca.Root)})
	if err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("NewSource = %v, want the issuer's error", err)
	}
}

func TestNewSourceValidatesConfig(t *testing.T) {
	ca := pkitest.NewCA(t)
	issuer := ca.Issuer(t, "orders", time.Hour, time.Now)
	tests := []struct {
		desc    string
		cfg     pki.Config
		wantErr string
	}{
		{desc: "bad service", cfg: pki.Config{Service: "Orders", Issuer: issuer, Bundle: pki.NewBundle(ca.Root)}, wantErr: "Orders"},
		{desc: "no issuer", cfg: pki.Config{Service: "orders", Bundle: pki.NewBundle(ca.Root)}, wantErr: "Issuer is nil"},
		{desc: "no bundle", cfg: pki.Config{Service: "orders", Issuer: issuer}, wantErr: "CA bundle is nil"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			_, err := pki.NewSource(context.Background(), tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("NewSource = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}
