package authz

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	merrors "go-micro.dev/v4/errors"
	"go-micro.dev/v4/server"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"

	"github.com/bulwark-go/bulwark/platform/security/grpcerr"
	"github.com/bulwark-go/bulwark/platform/security/internal/clock"
	"github.com/bulwark-go/bulwark/platform/security/pki/pkitest"
)

// leafContext returns a context whose gRPC peer presented a verified
// certificate of service valid from notBefore to notAfter.
func leafContext(t *testing.T, ca *pkitest.CA, service string, notBefore, notAfter time.Time) context.Context {
	leaf := ca.Leaf(t, service, notBefore, notAfter)
	state := tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{leaf.Leaf, ca.Intermediate, ca.Root}}}
	return peer.NewContext(context.Background(), &peer.Peer{
		Addr:     &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 4000},
		AuthInfo: credentials.TLSInfo{State: state},
	})
}

func TestHandlerWrapperCertificateTime(t *testing.T) {
	ca := pkitest.NewCA(t)
	p, err := Parse("p.yaml", []byte("services: [orders, inventory]\nendpoints:\n  inventory:\n    Inventory.Reserve: [orders]\n"))
	if err != nil {
		t.Fatal(err)
	}
	// The handshake happens at start; the certificate is valid from a
	// minute before to ten minutes after.
	start := time.Now().Truncate(time.Second)
	notAfter := start.Add(10 * time.Minute)
	ctx := leafContext(t, ca, "orders", start.Add(-time.Minute), notAfter)
	tests := []struct {
		desc     string
		callAt   time.Time
		wantCode int32
	}{
		{desc: "valid at call", callAt: start.Add(5 * time.Minute)},
		{desc: "last valid second", callAt: notAfter},
		{desc: "expired after handshake", callAt: notAfter.Add(time.Second), wantCode: 401},
		{desc: "expired long ago", callAt: notAfter.Add(time.Hour), wantCode: 401},
		{desc: "before not_before", callAt: start.Add(-2 * time.Minute), wantCode: 401},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			var logs bytes.Buffer
			fake := clock.NewFake(tt.callAt)
			wrapper := HandlerWrapper(p, "inventory", slog.New(slog.NewJSONHandler(&logs, nil)), WithClock(fake))
			ran := false
			handler := wrapper(func(context.Context, server.Request, any) error {
				ran = true
				return nil
			})
			err := handler(ctx, fakeRequest{endpoint: "Inventory.Reserve"}, nil)
			if tt.wantCode == 0 {
				if err != nil {
					t.Fatalf("handler = %v, want nil", err)
				}
				if !ran {
					t.Fatal("handler did not run for a valid certificate")
				}
				return
			}
			var me *merrors.Error
			if !errors.As(err, &me) {
				t.Fatalf("handler error = %#v, want a go-micro error", err)
			}
			if me.Code != tt.wantCode {
				t.Fatalf("code = %d, want %d", me.Code, tt.wantCode)
			}
			if got := grpcerr.Code(me.Code); got != codes.Unauthenticated {
				t.Fatalf("gRPC code of the rejection = %v, want Unauthenticated", got)
			}
			if ran {
				t.Fatal("handler ran for a call with a certificate out of its validity")
			}
			for _, want := range []string{`"caller":"orders"`, `"not_after":"` + notAfter.UTC().Format(time.RFC3339)} {
				if !strings.Contains(logs.String(), want) {
					t.Fatalf("log %q does not contain %q", logs.String(), want)
				}
			}
		})
	}
}

func TestHandlerWrapperExpiryOnOpenConnection(t *testing.T) {
	ca := pkitest.NewCA(t)
	p, err := Parse("p.yaml", []byte("services: [orders, inventory]\nendpoints:\n  inventory:\n    Inventory.Reserve: [orders]\n"))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	fake := clock.NewFake(start)
	ctx := leafContext(t, ca, "orders", start.Add(-time.Minute), start.Add(2*time.Minute))
	handler := HandlerWrapper(p, "inventory", slog.New(slog.DiscardHandler), WithClock(fake))(
		func(context.Context, server.Request, any) error { return nil })

	if err := handler(ctx, fakeRequest{endpoint: "Inventory.Reserve"}, nil); err != nil {
		t.Fatalf("call before expiry = %v, want nil", err)
	}
	fake.Advance(3 * time.Minute)
	err = handler(ctx, fakeRequest{endpoint: "Inventory.Reserve"}, nil)
	var me *merrors.Error
	if !errors.As(err, &me) || me.Code != 401 {
		t.Fatalf("call on the same connection after expiry = %v, want a go-micro 401", err)
	}
}

func TestCheckValidity(t *testing.T) {
	ca := pkitest.NewCA(t)
	now := time.Now()
	valid := ca.Leaf(t, "orders", now.Add(-time.Minute), now.Add(time.Hour)).Leaf
	expired := ca.Leaf(t, "orders", now.Add(-time.Hour), now.Add(-time.Minute)).Leaf
	tests := []struct {
		desc    string
		chains  [][]*x509.Certificate
		wantErr string
	}{
		{desc: "valid chain", chains: [][]*x509.Certificate{{valid, ca.Intermediate, ca.Root}}},
		{desc: "expired leaf", chains: [][]*x509.Certificate{{expired, ca.Intermediate, ca.Root}}, wantErr: "expired at"},
		{
			desc:   "one of two chains valid",
			chains: [][]*x509.Certificate{{expired, ca.Intermediate, ca.Root}, {valid, ca.Intermediate, ca.Root}},
		},
		{desc: "no chain", wantErr: "no verified certificate"},
		{desc: "empty chain", chains: [][]*x509.Certificate{{}}, wantErr: "empty verified chain"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			err := CheckValidity(tls.ConnectionState{VerifiedChains: tt.chains}, now)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("CheckValidity = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("CheckValidity = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}
