package identity

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// TrustDomain is the SPIFFE trust domain of every Bulwark service.
const TrustDomain = "bulwark.internal"

// MaxNameLength is the longest valid service name. It matches the maximum
// length of one DNS label, because the name becomes the first label of the
// service's DNS SAN.
const MaxNameLength = 63

const (
	uriScheme  = "spiffe"
	pathPrefix = "/service/"
	dnsSuffix  = ".service." + TrustDomain
)

// ErrNoIdentity is returned when a certificate or connection carries no
// Bulwark service identity.
var ErrNoIdentity = errors.New("identity: no verified service identity")

// ValidateName checks that name can be a service name: 1 to 63 characters of
// lowercase ASCII letters, digits and hyphens, starting with a letter and not
// ending with a hyphen.
func ValidateName(name string) error {
	if name == "" {
		return errors.New("identity: service name is empty; use lowercase letters, digits and hyphens")
	}
	if len(name) > MaxNameLength {
		return fmt.Errorf("identity: service name %q is %d characters long; the maximum is %d",
			name, len(name), MaxNameLength)
	}
	for i, r := range name {
		switch {
		case r >= 'a' && r <= 'z':
		case (r >= '0' && r <= '9') || r == '-':
			if i == 0 {
				return fmt.Errorf("identity: service name %q must start with a lowercase letter", name)
			}
		default:
			return fmt.Errorf("identity: service name %q contains %q; use lowercase letters, digits and hyphens",
				name, r)
		}
	}
	if strings.HasSuffix(name, "-") {
		return fmt.Errorf("identity: service name %q must not end with a hyphen", name)
	}
	return nil
}

// URI returns the SPIFFE ID of the service, for example
// spiffe://bulwark.internal/service/orders. It does not validate name.
func URI(name string) string {
	return uriScheme + "://" + TrustDomain + pathPrefix + name
}

// DNSName returns the DNS SAN of the service, for example
// orders.service.bulwark.internal. It does not validate name.
func DNSName(name string) string {
	return name + dnsSuffix
}

// ParseURI returns the service name in a SPIFFE ID of the trust domain. It
// rejects other schemes, other trust domains, other paths, and any query,
// fragment, port or user information.
func ParseURI(u *url.URL) (string, error) {
	if u == nil {
		return "", ErrNoIdentity
	}
	if u.Scheme != uriScheme || u.Host != TrustDomain || u.User != nil ||
		u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", fmt.Errorf("identity: %q is not a SPIFFE ID of trust domain %s", u.String(), TrustDomain)
	}
	name, ok := strings.CutPrefix(u.Path, pathPrefix)
	if !ok {
		return "", fmt.Errorf("identity: %q has no %s path", u.String(), pathPrefix)
	}
	if err := ValidateName(name); err != nil {
		return "", fmt.Errorf("identity: %q: %w", u.String(), err)
	}
	return name, nil
}

// FromCertificate returns the service name in the certificate's URI SAN. The
// certificate must carry exactly one URI SAN, so that a certificate naming two
// services cannot act as either. FromCertificate does not verify the
// certificate: pass only a leaf from a verified chain.
func FromCertificate(cert *x509.Certificate) (string, error) {
	if cert == nil {
		return "", ErrNoIdentity
	}
	switch len(cert.URIs) {
	case 0:
		return "", fmt.Errorf("%w: certificate %s has no URI SAN", ErrNoIdentity, cert.SerialNumber)
	case 1:
	default:
		return "", fmt.Errorf("identity: certificate %s has %d URI SANs; a service certificate carries exactly one",
			cert.SerialNumber, len(cert.URIs))
	}
	return ParseURI(cert.URIs[0])
}
