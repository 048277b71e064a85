package secure

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"sync"

	gclient "github.com/go-micro/plugins/v4/client/grpc"
	gserver "github.com/go-micro/plugins/v4/server/grpc"
	"github.com/google/uuid"
	"go-micro.dev/v4"
	"go-micro.dev/v4/client"
	"go-micro.dev/v4/selector"
	"go-micro.dev/v4/server"
	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"

	"github.com/bulwark-go/bulwark/platform/security/authz"
	"github.com/bulwark-go/bulwark/platform/security/broker"
	"github.com/bulwark-go/bulwark/platform/security/grpcerr"
	"github.com/bulwark-go/bulwark/platform/security/mtls"
	"github.com/bulwark-go/bulwark/platform/security/pki"
	"github.com/bulwark-go/bulwark/platform/security/vaultclient"
)

// Service is a go-micro service with mTLS, authorization and the mTLS
// broker in place. It embeds micro.Service: register handlers on Server()
// and call Run.
type Service struct {
	micro.Service

	// Vault is the logged-in Vault client; nil when Config.Certificates
	// was set. Other packages read their secrets with Vault.API().
	Vault *vaultclient.Client
	// Certificates is the rotating certificate source.
	Certificates CertificateSource
	// Policy is the loaded authorization policy.
	Policy *authz.Policy
	// Broker is the mTLS broker.
	Broker *broker.Broker

	closeOnce sync.Once
}

// NewService logs in to Vault, obtains the first certificate, loads the
// policy and builds the service. It fails on any missing piece. Call Close,
// or let Run return, to stop the background renewals.
func NewService(ctx context.Context, cfg Config) (*Service, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	log := cfg.Logger.With("service", cfg.Name)
	policy, err := authz.Load(cfg.PolicyFile)
	if err != nil {
		return nil, err
	}
	if _, declared := slicesIndex(policy.Services(), cfg.Name); !declared {
		return nil, fmt.Errorf("secure: service %s is not declared in %s; add it under services",
			cfg.Name, cfg.PolicyFile)
	}

	s := &Service{Policy: policy, Certificates: cfg.Certificates}
	if s.Certificates == nil {
		if err := s.startCertificates(ctx, cfg); err != nil {
			return nil, err
		}
	}
	brk, err := broker.New(broker.Config{
		Service:          cfg.Name,
		Source:           s.Certificates,
		Policy:           policy,
		Registry:         cfg.Registry,
		Address:          cfg.BrokerAddress,
		MaxConnectionAge: cfg.MaxConnectionAge,
		Logger:           cfg.Logger,
	})
	if err != nil {
		s.Close()
		return nil, err
	}
	s.Broker = brk

	srv := s.newServer(cfg)
	cli := newClient(cfg, s.Certificates, brk)
	var svc micro.Service
	svc = micro.NewService(
		micro.Server(srv),
		micro.Client(cli),
		micro.Context(ctx),
		micro.Broker(brk),
		micro.Registry(cfg.Registry),
		micro.BeforeStart(func() error { return checkInPlace(svc, srv, brk) }),
		micro.AfterStop(func() error { s.Close(); return nil }),
	)
	s.Service = svc
	log.Info("secured service built", "address", cfg.Address, "pool_ttl", cfg.PoolTTL,
		"max_connection_age", cfg.MaxConnectionAge)
	return s, nil
}

func (s *Service) startCertificates(ctx context.Context, cfg Config) error {
	vc, err := vaultclient.New(ctx, cfg.Vault)
	if err != nil {
		return err
	}
	s.Vault = vc
	bundle, err := pki.LoadBundle(cfg.CAFile)
	if err != nil {
		s.Close()
		return err
	}
	var opts []pki.VaultOption
	if cfg.PKIMount != "" {
		opts = append(opts, pki.WithMount(cfg.PKIMount))
	}
	issuer, err := pki.NewVaultIssuer(vc.API(), cfg.Name, opts...)
	if err != nil {
		s.Close()
		return err
	}
	src, err := pki.NewSource(ctx, pki.Config{Service: cfg.Name, Issuer: issuer, Bundle: bundle, Logger: cfg.Logger})
	if err != nil {
		s.Close()
		return err
	}
	s.Certificates = src
	return nil
}

func (s *Service) newServer(cfg Config) *guardedServer {
	grpcOpts := append([]grpc.ServerOption{
		grpc.KeepaliveParams(keepalive.ServerParameters{
			MaxConnectionAge:      cfg.MaxConnectionAge,
			MaxConnectionAgeGrace: DefaultMaxConnectionAgeGrace,
		}),
	}, cfg.GRPCServerOptions...)
	opts := []server.Option{
		server.Name(cfg.Name),
		server.Version(cfg.Version),
		// One Id per server, so that several services in one process
		// do not overwrite each other's registration.
		server.Id(uuid.NewString()),
		server.Address(cfg.Address),
		server.Registry(cfg.Registry),
		server.Broker(s.Broker),
		server.RegisterTTL(cfg.RegisterTTL),
		server.RegisterInterval(cfg.RegisterInterval),
		gserver.AuthTLS(mtls.ServerConfig(s.Certificates)),
		grpcerr.ServerOption(grpcOpts...),
		server.WrapHandler(authz.HandlerWrapper(s.Policy, cfg.Name, cfg.Logger)),
		server.WrapSubscriber(broker.SubscriberWrapper()),
	}
	for _, w := range cfg.HandlerWrappers {
		opts = append(opts, server.WrapHandler(w))
	}
	for _, w := range cfg.SubscriberWrappers {
		opts = append(opts, server.WrapSubscriber(w))
	}
	return &guardedServer{Server: gserver.NewServer(opts...), policy: s.Policy, name: cfg.Name}
}

func newClient(cfg Config, src mtls.Source, brk *broker.Broker) client.Client {
	c := gclient.NewClient(
		client.Registry(cfg.Registry),
		// Its own selector, because go-micro's default selector is shared
		// by every client in the process.
		client.Selector(selector.NewSelector(selector.Registry(cfg.Registry))),
		client.Broker(brk),
		client.PoolTTL(cfg.PoolTTL),
		gclient.AuthTLS(mtls.ClientConfig(src)),
	)
	return serverIdentityWrapper(c)
}

// Start starts the service without waiting for a signal, for tests and for
// programs that manage their own lifecycle. Run is the usual entry point.
func (s *Service) Start() error {
	starter, ok := s.Service.(interface{ Start() error })
	if !ok {
		return errors.New("secure: the go-micro service has no Start method")
	}
	return starter.Start()
}

// Stop stops a service started with Start, deregisters it, and closes the
// background renewals.
func (s *Service) Stop() error {
	stopper, ok := s.Service.(interface{ Stop() error })
	if !ok {
		return errors.New("secure: the go-micro service has no Stop method")
	}
	return stopper.Stop()
}

// ClientTLSConfig returns a client config with the service's certificate
// that accepts any service of the trust domain, for code that dials
// services without go-micro.
func (s *Service) ClientTLSConfig(opts ...mtls.Option) *tls.Config {
	return mtls.ClientConfig(s.Certificates, opts...)
}

// Close stops the certificate rotation and the Vault token renewal. The
// go-micro service calls it after it stops.
func (s *Service) Close() {
	s.closeOnce.Do(func() {
		if s.Certificates != nil {
			s.Certificates.Close()
		}
		if s.Vault != nil {
			s.Vault.Close()
		}
	})
}

// checkInPlace fails when the service's server, broker or client is no
// longer the secured one, which happens when Service.Init applies MICRO_*
// flags or environment variables.
func checkInPlace(svc micro.Service, srv *guardedServer, brk *broker.Broker) error {
	opts := svc.Options()
	var errs []error
	if opts.Server != server.Server(srv) {
		errs = append(errs, fmt.Errorf("server was replaced by %q", opts.Server.String()))
	}
	if opts.Broker != any(brk) {
		errs = append(errs, fmt.Errorf("broker was replaced by %q", opts.Broker.String()))
	}
	if c := opts.Client; c.String() != "grpc" || c.Options().Broker != any(brk) {
		errs = append(errs, fmt.Errorf("client was replaced by %q", c.String()))
	}
	if len(errs) > 0 {
		return fmt.Errorf("secure: refusing to start without mTLS: %w; unset MICRO_SERVER, MICRO_CLIENT, "+
			"MICRO_BROKER and the matching flags", errors.Join(errs...))
	}
	return nil
}

func slicesIndex(list []string, v string) (int, bool) {
	for i, s := range list {
		if s == v {
			return i, true
		}
	}
	return -1, false
}
