package boot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go-micro.dev/v4/client"
	"go-micro.dev/v4/server"

	"github.com/bulwark-go/bulwark/platform/security/mtls"
	"github.com/bulwark-go/bulwark/platform/security/pki"
	"github.com/bulwark-go/bulwark/platform/security/registry"
	"github.com/bulwark-go/bulwark/platform/security/secure"
	"github.com/bulwark-go/bulwark/platform/security/vaultclient"
	"github.com/bulwark-go/bulwark/services/internal/admin"
	"github.com/bulwark-go/bulwark/services/internal/run"
)

// Service is a secured go-micro service that is built but not yet running.
// Register handlers, subscribers, components and readiness checks, then
// call Run. Create it with New.
type Service struct {
	// Name is the service's name and certificate identity.
	Name string
	// Env is the validated environment.
	Env Env
	// Log is the service logger: slog JSON on stderr.
	Log *slog.Logger
	// Metrics is the Prometheus registry served on /metrics.
	Metrics *prometheus.Registry

	opts     Options
	vault    *vaultclient.Client
	certs    *pki.Source
	registry *registry.Registry
	micro    *secure.Service

	mu         sync.Mutex
	endpoints  []string
	topics     []string
	limits     *Limits
	components []run.Component
	checks     []admin.Check
	closers    []func() error

	registered     atomic.Bool
	handlerWrapper atomic.Pointer[server.HandlerWrapper]
	subWrapper     atomic.Pointer[server.SubscriberWrapper]
}

// New logs in to Vault, obtains the service's first certificate, connects
// to Consul with the service's token and builds the secured go-micro
// service. It starts nothing that listens; Run does. On error it releases
// what it built.
func New(ctx context.Context, name string, env Env, opts Options, log *slog.Logger) (_ *Service, err error) {
	// s is not the named result, because every "return nil, err" would set
	// the result to nil before the deferred close runs.
	s := &Service{Name: name, Env: env, Log: log, Metrics: prometheus.NewRegistry(), opts: opts}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	if env.DataDir != "" {
		if err := os.MkdirAll(env.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("boot: create %s %q: %w", EnvDataDir, env.DataDir, err)
		}
	}
	s.Metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	s.vault, err = vaultclient.New(ctx, vaultclient.Config{
		Address:      env.VaultAddr,
		CAFile:       env.CAFile,
		RoleIDFile:   env.RoleIDFile,
		SecretIDFile: env.SecretIDFile,
		Logger:       log,
	})
	if err != nil {
		return nil, fmt.Errorf("boot: log in to Vault at %s: %w", env.VaultAddr, err)
	}
	if err := s.startCertificates(ctx); err != nil {
		return nil, err
	}
	if err := s.checkProductionCertificate(); err != nil {
		return nil, err
	}

	// Consul's certificate is checked against the CA bundle and the host of
	// BULWARK_CONSUL_ADDR, and the service's own certificate is the client
	// certificate that Consul's verify_incoming requires.
	tlsConfig, err := mtls.RegistryClientConfig(s.certs, "")
	if err != nil {
		return nil, fmt.Errorf("boot: %w", err)
	}
	s.registry, err = registry.New(ctx, registry.Options{
		Service:   name,
		Address:   env.ConsulAddr,
		TLSConfig: tlsConfig,
		Vault:     s.vault.API(),
		Logger:    log,
	})
	if err != nil {
		return nil, fmt.Errorf("boot: connect to Consul at %s: %w", env.ConsulAddr, err)
	}

	s.micro, err = secure.NewService(ctx, secure.Config{
		Name:               name,
		Address:            env.Listen,
		BrokerAddress:      env.BrokerListen,
		CAFile:             env.CAFile,
		Certificates:       s.certs,
		PolicyFile:         env.AuthzFile,
		Registry:           s.registry,
		HandlerWrappers:    []server.HandlerWrapper{s.limitHandler},
		SubscriberWrappers: []server.SubscriberWrapper{s.limitSubscriber},
		RegisterTTL:        s.registry.RegisterTTL(),
		RegisterInterval:   s.registry.RegisterInterval(),
		Logger:             log,
	})
	if err != nil {
		return nil, fmt.Errorf("boot: %w", err)
	}
	return s, nil
}

// startCertificates starts the rotating certificate from the service's
// Vault PKI role.
//
// NOTE: secure.NewService can log in and start the certificate itself, but
// the Consul registry must exist before it and needs both, so the service
// builds them here and passes them in through secure.Config.Certificates.
func (s *Service) startCertificates(ctx context.Context) error {
	bundle, err := pki.LoadBundle(s.Env.CAFile)
	if err != nil {
		return fmt.Errorf("boot: %s: %w", EnvCAFile, err)
	}
	issuer, err := pki.NewVaultIssuer(s.vault.API(), s.Name)
	if err != nil {
		return fmt.Errorf("boot: %w", err)
	}
	s.certs, err = pki.NewSource(ctx, pki.Config{Service: s.Name, Issuer: issuer, Bundle: bundle, Logger: s.Log})
	if err != nil {
		return fmt.Errorf("boot: obtain the certificate of %s from Vault: %w", s.Name, err)
	}
	return nil
}

// Client returns the go-micro client with mTLS, for the clients of other
// services and for publishing events.
func (s *Service) Client() client.Client { return s.micro.Client() }

// DataFile returns the path of a file in BULWARK_DATA_DIR.
func (s *Service) DataFile(name string) string { return filepath.Join(s.Env.DataDir, name) }

// Handle registers a go-micro handler: every exported method of h with the
// form func(ctx, *Req, *Rsp) error becomes an endpoint. Register every
// handler before Limits or Run.
func (s *Service) Handle(h any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.limits != nil {
		return errors.New("boot: Handle after the rate limits were loaded; register handlers first")
	}
	handler := s.micro.Server().NewHandler(h)
	for _, e := range handler.Endpoints() {
		s.endpoints = append(s.endpoints, e.Name)
	}
	return s.micro.Server().Handle(handler)
}

// Subscribe registers fn as the subscriber of topic. Register every
// subscriber before Limits or Run.
func (s *Service) Subscribe(topic string, fn any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.limits != nil {
		return errors.New("boot: Subscribe after the rate limits were loaded; register subscribers first")
	}
	if !slices.Contains(s.topics, topic) {
		s.topics = append(s.topics, topic)
	}
	return s.micro.Server().Subscribe(s.micro.Server().NewSubscriber(topic, fn))
}

// Go adds a long-lived component, such as an HTTP server or a background
// loop, that Run starts after the go-micro service and stops before it.
func (s *Service) Go(c run.Component) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.components = append(s.components, c)
}

// Check adds a readiness check to /readyz, for example a database ping.
func (s *Service) Check(c admin.Check) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checks = append(s.checks, c)
}

// OnClose adds fn to what Run calls after every component stopped, in
// reverse order of addition, for example closing a database.
func (s *Service) OnClose(fn func() error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closers = append(s.closers, fn)
}

// close releases the service's own resources in reverse order of creation.
func (s *Service) close() error {
	s.mu.Lock()
	closers := slices.Clone(s.closers)
	s.mu.Unlock()
	var errs []error
	for i := len(closers) - 1; i >= 0; i-- {
		errs = append(errs, closers[i]())
	}
	if s.limits != nil {
		errs = append(errs, s.limits.close())
	}
	if s.registry != nil {
		errs = append(errs, s.registry.Close())
	}
	if s.micro != nil {
		s.micro.Close()
	}
	if s.certs != nil {
		s.certs.Close()
	}
	if s.vault != nil {
		s.vault.Close()
	}
	return errors.Join(errs...)
}
