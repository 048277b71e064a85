package pki

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/bulwark-go/bulwark/platform/security/identity"
	"github.com/bulwark-go/bulwark/platform/security/internal/backoff"
	"github.com/bulwark-go/bulwark/platform/security/internal/clock"
)

// Defaults of Config fields left zero.
const (
	DefaultMaxRetryDelay = 30 * time.Second
	DefaultIssueTimeout  = 30 * time.Second
)

// renewFraction is the part of a certificate's lifetime after which it is
// renewed, and jitterFraction the largest part of the lifetime subtracted
// at random from that time.
const (
	renewFraction  = 2.0 / 3.0
	jitterFraction = 0.1
)

// ErrExpired is returned by Source.Certificate when the current certificate
// has expired and no renewal has succeeded since.
var ErrExpired = errors.New("pki: the service certificate has expired and Vault has not issued a new one")

// Config describes a Source.
type Config struct {
	// Service is the name of the service whose certificate is issued.
	// Required.
	Service string
	// Issuer obtains certificates. Required.
	Issuer Issuer
	// Bundle provides the CA certificates that the service's own and its
	// peers' certificates must chain to. Required.
	Bundle *Bundle
	// MaxRetryDelay caps the backoff between failed renewals. Optional;
	// default DefaultMaxRetryDelay.
	MaxRetryDelay time.Duration
	// IssueTimeout bounds one call of Issuer.Issue. Optional; default
	// DefaultIssueTimeout.
	IssueTimeout time.Duration
	// Logger receives the logs of issues and rotations. Optional; default
	// slog.Default().
	Logger *slog.Logger
	// Clock is the time source. Optional; tests set a fake.
	Clock clock.Clock
}

// Source holds the service's current certificate and rotates it in the
// background. Its methods are safe for concurrent use.
type Source struct {
	cfg Config
	log *slog.Logger

	mu      sync.RWMutex
	current *tls.Certificate

	expiredLogged bool
	cancel        context.CancelFunc
	done          chan struct{}
	closeOnce     sync.Once
}

// NewSource issues the first certificate and starts rotating it until ctx is
// cancelled or Close is called. It fails when cfg is invalid or the first
// certificate cannot be issued or does not verify, because a service without
// a certificate cannot serve.
func NewSource(ctx context.Context, cfg Config) (*Source, error) {
	if err := identity.ValidateName(cfg.Service); err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	if cfg.Issuer == nil {
		return nil, errors.New("pki: Issuer is nil; use NewVaultIssuer")
	}
	if cfg.Bundle == nil {
		return nil, errors.New("pki: CA bundle is nil; use LoadBundle with the CA file")
	}
	if cfg.MaxRetryDelay == 0 {
		cfg.MaxRetryDelay = DefaultMaxRetryDelay
	}
	if cfg.MaxRetryDelay < 0 {
		return nil, fmt.Errorf("pki: MaxRetryDelay %v is negative", cfg.MaxRetryDelay)
	}
	if cfg.IssueTimeout <= 0 {
		cfg.IssueTimeout = DefaultIssueTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	s := &Source{
		cfg:  cfg,
		log:  cfg.Logger.With("component", "pki", "service", cfg.Service),
		done: make(chan struct{}),
	}
	if err := s.renew(ctx); err != nil {
		return nil, err
	}
	ctx, s.cancel = context.WithCancel(ctx)
	go s.run(ctx)
	return s, nil
}

// Service returns the name of the service whose certificate s holds.
func (s *Source) Service() string { return s.cfg.Service }

// Bundle returns the CA bundle that s verifies certificates against.
func (s *Source) Bundle() *Bundle { return s.cfg.Bundle }

// Roots returns the current CA certificates of the bundle.
func (s *Source) Roots() *x509.CertPool { return s.cfg.Bundle.Pool() }

// Certificate returns the current certificate. It returns ErrExpired once
// the certificate has expired, because a peer would reject it anyway.
func (s *Source) Certificate() (*tls.Certificate, error) {
	s.mu.RLock()
	cert := s.current
	s.mu.RUnlock()
	if !s.cfg.Clock.Now().Before(cert.Leaf.NotAfter) {
		return nil, fmt.Errorf("%w (serial %s, expired %s)", ErrExpired, serial(cert.Leaf),
			cert.Leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	return cert, nil
}

// GetCertificate returns the current certificate; use it as
// tls.Config.GetCertificate.
func (s *Source) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return s.Certificate()
}

// GetClientCertificate returns the current certificate; use it as
// tls.Config.GetClientCertificate.
func (s *Source) GetClientCertificate(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	return s.Certificate()
}

// Close stops the rotation. The current certificate stays readable.
func (s *Source) Close() {
	s.closeOnce.Do(func() {
		s.cancel()
		<-s.done
	})
}

func (s *Source) run(ctx context.Context) {
	defer close(s.done)
	policy := backoff.Policy{Initial: time.Second, Max: s.cfg.MaxRetryDelay}
	failures := 0
	next := s.nextRenewal()
	for {
		timer := s.cfg.Clock.NewTimer(next.Sub(s.cfg.Clock.Now()))
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C():
		}
		err := s.renew(ctx)
		if err == nil {
			failures = 0
			next = s.nextRenewal()
			continue
		}
		if ctx.Err() != nil {
			return
		}
		failures++
		delay := policy.Delay(failures)
		next = s.cfg.Clock.Now().Add(delay)
		s.logFailure(err, failures, delay)
	}
}

func (s *Source) logFailure(err error, attempt int, delay time.Duration) {
	s.mu.Lock()
	leaf := s.current.Leaf
	expired := !s.cfg.Clock.Now().Before(leaf.NotAfter)
	first := expired && !s.expiredLogged
	if expired {
		s.expiredLogged = true
	}
	s.mu.Unlock()
	if first {
		s.log.Error("service certificate expired; new TLS handshakes fail until a renewal succeeds",
			"serial", serial(leaf), "not_after", leaf.NotAfter)
	}
	s.log.Warn("certificate renewal failed; serving the current certificate and retrying",
		"error", err, "attempt", attempt, "retry_in", delay, "serial", serial(leaf), "not_after", leaf.NotAfter)
}

// renew reloads the CA bundle, issues a certificate, verifies it, and makes
// it current.
func (s *Source) renew(ctx context.Context) error {
	if err := s.cfg.Bundle.Reload(); err != nil {
		s.log.Warn("CA bundle reload failed; keeping the previous bundle", "error", err)
	}
	ictx, cancel := context.WithTimeout(ctx, s.cfg.IssueTimeout)
	cert, err := s.cfg.Issuer.Issue(ictx)
	cancel()
	if err != nil {
		return fmt.Errorf("pki: issue certificate for %s: %w", s.cfg.Service, err)
	}
	if cert == nil || len(cert.Certificate) == 0 {
		return fmt.Errorf("pki: issuer returned no certificate for %s", s.cfg.Service)
	}
	if cert.Leaf == nil {
		leaf, err := x509.ParseCertificate(cert.Certificate[0])
		if err != nil {
			return fmt.Errorf("pki: parse certificate issued for %s: %w", s.cfg.Service, err)
		}
		cert.Leaf = leaf
	}
	if err := VerifyLeaf(cert, s.cfg.Service, s.cfg.Bundle.Pool(), s.cfg.Clock.Now()); err != nil {
		return err
	}
	s.mu.Lock()
	previous := s.current
	s.current = cert
	s.expiredLogged = false
	s.mu.Unlock()

	attrs := []any{"serial", serial(cert.Leaf), "not_before", cert.Leaf.NotBefore, "not_after", cert.Leaf.NotAfter}
	if previous == nil {
		s.log.Info("issued service certificate", attrs...)
	} else {
		s.log.Info("rotated service certificate", append(attrs, "previous_serial", serial(previous.Leaf))...)
	}
	return nil
}

// nextRenewal returns two thirds into the current certificate's lifetime,
// minus up to a tenth of the lifetime at random.
func (s *Source) nextRenewal() time.Time {
	s.mu.RLock()
	leaf := s.current.Leaf
	s.mu.RUnlock()
	lifetime := leaf.NotAfter.Sub(leaf.NotBefore)
	at := time.Duration(float64(lifetime) * renewFraction)
	if jitter := time.Duration(float64(lifetime) * jitterFraction); jitter > 0 {
		at -= rand.N(jitter)
	}
	return leaf.NotBefore.Add(at)
}

// serial formats a serial number the way Vault prints it: lowercase hex
// bytes separated by colons.
func serial(leaf *x509.Certificate) string {
	return Serial(leaf)
}
