package authz

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
)

// CertificateTimeError is returned by CheckValidity when no verified chain
// of a peer is valid at the time of the call. The TLS handshake checked the
// times once, but a connection stays open much longer, so a certificate can
// expire while the peer keeps using it.
type CertificateTimeError struct {
	Subject   string    // Subject of the certificate that is not valid
	NotBefore time.Time // start of its validity
	NotAfter  time.Time // end of its validity
	Now       time.Time // time of the check
}

func (e *CertificateTimeError) Error() string {
	if e.Now.Before(e.NotBefore) {
		return fmt.Sprintf("authz: certificate %q is not valid before %s (now %s)", e.Subject,
			e.NotBefore.UTC().Format(time.RFC3339), e.Now.UTC().Format(time.RFC3339))
	}
	return fmt.Sprintf("authz: certificate %q expired at %s (now %s)", e.Subject,
		e.NotAfter.UTC().Format(time.RFC3339), e.Now.UTC().Format(time.RFC3339))
}

// CheckValidity returns nil when at least one verified chain of state has
// every certificate within its NotBefore and NotAfter at now, and a
// *CertificateTimeError naming the first certificate out of its validity
// otherwise. Handshake verification already checked the chain at connect
// time; this repeats the time check for each call or message on a
// connection that stays open.
func CheckValidity(state tls.ConnectionState, now time.Time) error {
	if len(state.VerifiedChains) == 0 {
		return errors.New("authz: the peer presented no verified certificate")
	}
	var first error
	for _, chain := range state.VerifiedChains {
		err := chainValidAt(chain, now)
		if err == nil {
			return nil
		}
		if first == nil {
			first = err
		}
	}
	return first
}

func chainValidAt(chain []*x509.Certificate, now time.Time) error {
	if len(chain) == 0 {
		return errors.New("authz: the peer presented an empty verified chain")
	}
	for _, cert := range chain {
		if now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
			return &CertificateTimeError{
				Subject:   cert.Subject.String(),
				NotBefore: cert.NotBefore,
				NotAfter:  cert.NotAfter,
				Now:       now,
			}
		}
	}
	return nil
}

// peerState returns the TLS connection state of the gRPC peer of ctx.
func peerState(ctx context.Context) (tls.ConnectionState, bool) {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return tls.ConnectionState{}, false
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok {
		return tls.ConnectionState{}, false
	}
	return info.State, true
}
