package verify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/bulwark-go/bulwark/platform/security/identity"
	"github.com/bulwark-go/bulwark/platform/security/registry"
)

// Status is the outcome of one check.
type Status string

// Outcomes of a check.
const (
	Pass Status = "PASS"
	Fail Status = "FAIL"
)

// DefaultTimeout bounds each request of a check.
const DefaultTimeout = 10 * time.Second

// Result is the outcome of one check.
type Result struct {
	// Check names the protection, for example "anonymous registration
	// rejected".
	Check string
	// Status is Pass when the protection was in effect.
	Status Status
	// Evidence is the response or error that Consul or the client returned,
	// in one line.
	Evidence string
}

// Config is the Consul server to check and the credentials for the checks.
type Config struct {
	// Address is Consul's HTTPS address as host:port. Required.
	Address string

	// CAFile is the PEM file of the trust chain's CA certificates. Required.
	CAFile string

	// CertFile and KeyFile are a client certificate and its key, signed by
	// the trust chain, such as the operator certificate. Required.
	CertFile, KeyFile string

	// ServerName is the host name to verify in Consul's certificate.
	// Optional, default the host of Address.
	ServerName string

	// ServiceTokens maps a service name to a file that contains that
	// service's Consul ACL token, for the checks that each token is limited
	// to its own name. Optional.
	ServiceTokens map[string]string

	// Timeout bounds each request. Optional, default DefaultTimeout.
	Timeout time.Duration
}

// Run performs every check and returns their results in a fixed order. It
// returns an error only when the configuration is invalid or a file cannot
// be read. A protection that is not in effect is a Result with Status Fail.
func Run(ctx context.Context, cfg Config) ([]Result, error) {
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	p, err := newProber(cfg)
	if err != nil {
		return nil, err
	}

	results := []Result{
		p.checkPlaintext(ctx),
		p.checkNoClientCert(ctx),
		p.checkUntrustedClientCert(ctx),
		p.checkUntrustedServer(ctx),
		p.checkAnonymousRegistration(ctx),
		p.checkAnonymousKV(ctx),
		p.checkAnonymousRead(ctx),
	}
	names := slices.Sorted(maps.Keys(cfg.ServiceTokens))
	for _, name := range names {
		others := slices.DeleteFunc(slices.Clone(names), func(n string) bool { return n == name })
		results = append(results, p.checkServiceToken(ctx, name, p.tokens[name], others)...)
	}
	return results, nil
}

// Failed reports whether any result has Status Fail.
func Failed(results []Result) bool {
	return slices.ContainsFunc(results, func(r Result) bool { return r.Status == Fail })
}

// Write prints the results as a table with one check per line.
func Write(w io.Writer, results []Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STATUS\tCHECK\tEVIDENCE")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Status, r.Check, r.Evidence)
	}
	return tw.Flush()
}

// validate checks cfg and reads the files it names.
func (cfg Config) validate() error {
	if err := registry.ValidateAddress(cfg.Address); err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	for flag, path := range map[string]string{"CA file": cfg.CAFile, "certificate file": cfg.CertFile,
		"key file": cfg.KeyFile} {
		if path == "" {
			return fmt.Errorf("verify: the %s is missing; pass a PEM file of the trust chain", flag)
		}
	}
	if cfg.Timeout < 0 {
		return fmt.Errorf("verify: timeout %v is negative; use a positive duration", cfg.Timeout)
	}
	for name, path := range cfg.ServiceTokens {
		if err := identity.ValidateName(name); err != nil {
			return fmt.Errorf("verify: service token for %q: %w", name, err)
		}
		if path == "" {
			return fmt.Errorf("verify: the token file of service %q is missing; pass NAME=PATH", name)
		}
	}
	return nil
}

// readToken reads a token file. The error names the file, never its content.
func readToken(name, path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("verify: read the token file of service %q: %w", name, err)
	}
	token := strings.TrimSpace(string(data))
	if token == "" {
		return "", fmt.Errorf("verify: the token file %s of service %q is empty", path, name)
	}
	return token, nil
}

// loadClientTLS returns a config that trusts the CA file and presents the
// client certificate.
func loadClientTLS(cfg Config) (*tls.Config, error) {
	pool, err := loadPool(cfg.CAFile)
	if err != nil {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("verify: load the client certificate %s: %w", cfg.CertFile, err)
	}
	return &tls.Config{
		RootCAs:      pool,
		Certificates: []tls.Certificate{cert},
		ServerName:   cfg.ServerName,
		MinVersion:   tls.VersionTLS12,
	}, nil
}

var errNoCertificates = errors.New("contains no PEM certificate")
