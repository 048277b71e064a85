package identity

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"math/big"
	"net"
	"net/url"
	"testing"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
)

func leafFor(t *testing.T, name string) *x509.Certificate {
	t.Helper()
	u, err := url.Parse(URI(name))
	if err != nil {
		t.Fatal(err)
	}
	return &x509.Certificate{SerialNumber: big.NewInt(1), URIs: []*url.URL{u}}
}

func TestFromPeer(t *testing.T) {
	addr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 4000}
	verified := tls.ConnectionState{
		PeerCertificates: []*x509.Certificate{leafFor(t, "orders")},
		VerifiedChains:   [][]*x509.Certificate{{leafFor(t, "orders")}},
	}
	unverified := tls.ConnectionState{PeerCertificates: []*x509.Certificate{leafFor(t, "gateway")}}

	tests := []struct {
		desc string
		ctx  context.Context
		want string
	}{
		{desc: "verified chain", ctx: peer.NewContext(context.Background(), &peer.Peer{
			Addr: addr, AuthInfo: credentials.TLSInfo{State: verified},
		}), want: "orders"},
		{desc: "no peer", ctx: context.Background()},
		{desc: "plaintext", ctx: peer.NewContext(context.Background(), &peer.Peer{Addr: addr})},
		{desc: "certificate not verified", ctx: peer.NewContext(context.Background(), &peer.Peer{
			Addr: addr, AuthInfo: credentials.TLSInfo{State: unverified},
		})},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got, err := FromPeer(tt.ctx)
			if tt.want == "" {
				if !errors.Is(err, ErrNoIdentity) {
					t.Fatalf("FromPeer = %q, %v; want ErrNoIdentity", got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("FromPeer: %v", err)
			}
			if got != tt.want {
				t.Fatalf("FromPeer = %q, want %q", got, tt.want)
			}
		})
	}
}
