package identity

import (
	"context"
	"crypto/tls"
	"fmt"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
)

// FromPeer returns the service name of the caller of a gRPC call, read from
// the client certificate that the TLS handshake verified. It works inside a
// go-micro handler wrapper of the grpc server plugin and inside a gRPC
// interceptor. It returns an error wrapping ErrNoIdentity when the call did
// not arrive over TLS with a verified client certificate.
func FromPeer(ctx context.Context) (string, error) {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return "", fmt.Errorf("%w: the call has no gRPC peer", ErrNoIdentity)
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok {
		return "", fmt.Errorf("%w: the call from %s did not use TLS", ErrNoIdentity, p.Addr)
	}
	return FromConnectionState(info.State)
}

// FromConnectionState returns the service name of the peer of a TLS
// connection. It reads only the leaf of a verified chain, so a certificate
// that the handshake merely received, and did not verify, names nobody.
func FromConnectionState(state tls.ConnectionState) (string, error) {
	if len(state.VerifiedChains) == 0 || len(state.VerifiedChains[0]) == 0 {
		return "", fmt.Errorf("%w: the peer presented no verified certificate", ErrNoIdentity)
	}
	return FromCertificate(state.VerifiedChains[0][0])
}
