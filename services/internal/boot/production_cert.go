package boot

import (
	"crypto/x509"
	"fmt"
	"time"

	"github.com/bulwark-go/bulwark/platform/security/pki"
)

// MaxProductionCertTTL is the longest time that production accepts a
// service certificate to stay valid after it is issued. A stolen key is
// useful to an attacker until its certificate expires.
const MaxProductionCertTTL = 24 * time.Hour

// certTTLTolerance allows for the time between Vault's issue and the check,
// and for clock skew between Vault and the service.
const certTTLTolerance = time.Minute

// CheckCertificateTTL returns an error when leaf, issued to service, stays
// valid for more than MaxProductionCertTTL after now. The service does not
// request a TTL: the ttl and max_ttl of its Vault PKI role decide it, so
// the check runs on the first certificate Vault issued.
func CheckCertificateTTL(service string, leaf *x509.Certificate, now time.Time) error {
	remaining := leaf.NotAfter.Sub(now)
	if remaining <= MaxProductionCertTTL+certTTLTolerance {
		return nil
	}
	return fmt.Errorf("boot: %s=%s rejects the certificate that Vault issued for %s (serial %s): it is valid "+
		"until %s, %s from now, and production allows at most %s; set ttl and max_ttl of the Vault PKI role "+
		"%s/roles/%s to %s or less (bulwark bootstrap configure -cert-ttl) and start the service again",
		EnvProfile, ProfileProduction, service, pki.Serial(leaf), leaf.NotAfter.UTC().Format(time.RFC3339),
		remaining.Round(time.Minute), MaxProductionCertTTL, pki.DefaultMount, service, MaxProductionCertTTL)
}

// checkProductionCertificate applies CheckCertificateTTL to the service's
// first certificate under the production profile.
func (s *Service) checkProductionCertificate() error {
	if !s.Env.Production {
		return nil
	}
	cert, err := s.certs.Certificate()
	if err != nil {
		return fmt.Errorf("boot: %w", err)
	}
	return CheckCertificateTTL(s.Name, cert.Leaf, time.Now())
}
