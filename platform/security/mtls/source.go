package mtls

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"slices"
	"time"

	"github.com/bulwark-go/bulwark/platform/security/identity"
)

// Source provides the service's current certificate and CA bundle. A
// *pki.Source is a Source.
type Source interface {
	// GetCertificate returns the certificate to present as a server.
	GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error)
	// GetClientCertificate returns the certificate to present as a client.
	GetClientCertificate(*tls.CertificateRequestInfo) (*tls.Certificate, error)
	// Roots returns the CA certificates that peers' chains must reach.
	Roots() *x509.CertPool
}

// Authorizer decides whether a peer with a verified service identity may
// complete the handshake. It returns nil to accept.
type Authorizer func(service string) error

// AuthorizeAny accepts every service of the trust domain.
func AuthorizeAny() Authorizer {
	return func(string) error { return nil }
}

// AuthorizeOneOf accepts only the named services.
func AuthorizeOneOf(services ...string) Authorizer {
	allowed := slices.Clone(services)
	return func(service string) error {
		if slices.Contains(allowed, service) {
			return nil
		}
		return fmt.Errorf("mtls: peer %s is not one of the expected services %v", identity.URI(service), allowed)
	}
}

// Option configures ServerConfig and ClientConfig.
type Option interface{ apply(*options) }

type options struct {
	authorize  Authorizer
	now        func() time.Time
	nextProtos []string
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// WithAuthorizer restricts which peer identities are accepted. The default
// accepts every service of the trust domain.
func WithAuthorizer(a Authorizer) Option {
	return optionFunc(func(o *options) { o.authorize = a })
}

// WithTime sets the clock used to check certificate validity. The default
// is time.Now. Tests use it to show that expired certificates are rejected.
func WithTime(now func() time.Time) Option {
	return optionFunc(func(o *options) { o.now = now })
}

// WithNextProtos sets the ALPN protocols. The default is "h2", which gRPC
// requires.
func WithNextProtos(protos ...string) Option {
	return optionFunc(func(o *options) { o.nextProtos = slices.Clone(protos) })
}

func newOptions(opts []Option) options {
	o := options{authorize: AuthorizeAny(), now: time.Now, nextProtos: []string{"h2"}}
	for _, opt := range opts {
		opt.apply(&o)
	}
	return o
}
