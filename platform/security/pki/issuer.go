package pki

import (
	"context"
	"crypto/tls"
)

// Issuer obtains a new leaf certificate for one service.
type Issuer interface {
	// Issue returns a new certificate. Certificate[0] is the leaf, followed
	// by the intermediates a peer needs to build a chain to the CA bundle,
	// and Leaf is set. Self-signed roots are not part of the chain.
	Issue(ctx context.Context) (*tls.Certificate, error)
}

// IssuerFunc adapts a function to the Issuer interface.
type IssuerFunc func(ctx context.Context) (*tls.Certificate, error)

// Issue calls f(ctx).
func (f IssuerFunc) Issue(ctx context.Context) (*tls.Certificate, error) { return f(ctx) }
