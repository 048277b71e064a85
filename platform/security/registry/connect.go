package registry

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	consul "github.com/go-micro/plugins/v4/registry/consul"
	consulapi "github.com/hashicorp/consul/api"
	microregistry "go-micro.dev/v4/registry"
)

// New reads the service's Consul token from Vault, connects to Consul with
// it, and starts renewing and rotating the token in the background until
// Close. It returns an error, naming the value and the fix, when an option is
// invalid or Vault does not issue a token.
func New(ctx context.Context, opts Options) (*Registry, error) {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	log := opts.Logger.With(slog.String("component", "registry"), slog.String("service", opts.Service))
	issuer := newVaultIssuer(opts.Vault, opts.ConsulMount, opts.Service, time.Now)
	return start(ctx, opts, issuer, buildConsul, realClock{}, log, randomJitter)
}

// start is New with its collaborators passed in, so that tests can replace
// Vault, Consul and the clock.
func start(ctx context.Context, opts Options, issuer tokenIssuer, build buildFunc, c clock, log *slog.Logger,
	jitter func(time.Duration) time.Duration,
) (*Registry, error) {
	initial, err := issuer.issue(ctx)
	if err != nil {
		return nil, err
	}
	log.Info("Vault issued the Consul token", slog.Any("token", initial))

	tlsConfig := opts.TLSConfig.Clone()
	r := &Registry{
		service:   opts.Service,
		log:       log,
		build:     build,
		ttl:       opts.RegisterTTL,
		interval:  opts.RegisterInterval,
		nodes:     make(map[string]*registration),
		address:   opts.Address,
		tlsConfig: tlsConfig,
		inner:     build(initial, opts.Address, tlsConfig, 0),
		token:     initial,
		swapped:   make(chan struct{}),
		closed:    make(chan struct{}),
		done:      make(chan struct{}),
	}
	r.rotator = newRotator(issuer, initial, r.switchToken, c, log, jitter)

	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	r.cancel = cancel
	go func() {
		defer close(r.done)
		r.rotator.run(runCtx)
	}()
	return r, nil
}

// NewConsulClient returns a go-micro Consul plugin registry that
// authenticates with the token's secret and uses tlsConfig, after validating
// the address, the TLS config and the secret as New does. It is the client
// that a Registry builds for each token, without the rotation, for tools that
// check a running stack. The caller must not change tlsConfig afterwards.
func NewConsulClient(address string, tlsConfig *tls.Config, secret string) (microregistry.Registry, error) {
	if err := ValidateAddress(address); err != nil {
		return nil, err
	}
	if err := ValidateTLSConfig(tlsConfig); err != nil {
		return nil, err
	}
	// The Consul API client replaces an empty token with CONSUL_HTTP_TOKEN
	// from the environment, so an empty secret would not mean "no token".
	if strings.TrimSpace(secret) == "" {
		return nil, errors.New("registry: the Consul token is empty; pass the secret ID of an ACL token")
	}
	return buildConsul(Token{secret: &secretID{value: secret}}, address, tlsConfig, 0), nil
}

// buildConsul makes a go-micro Consul plugin registry that authenticates with
// the token. The plugin ignores Consul's own TLS settings and the CONSUL_CACERT
// family of variables, so the TLS config goes in through registry.TLSConfig.
// The token goes in through the plugin's Consul config, which it reads once.
func buildConsul(t Token, address string, tlsConfig *tls.Config, timeout time.Duration) microregistry.Registry {
	opts := []microregistry.Option{
		microregistry.Addrs(address),
		microregistry.TLSConfig(tlsConfig),
		consul.Config(&consulapi.Config{
			Address: address,
			Scheme:  "https",
			Token:   t.SecretID(),
		}),
	}
	if timeout > 0 {
		opts = append(opts, microregistry.Timeout(timeout))
	}
	// The plugin probes GET /v1/agent/host here, which needs operator:read in
	// the token's policy. Without it Consul logs an ACL denial for every new
	// client, and the plugin still uses the one address.
	return consul.NewRegistry(opts...)
}

// Close stops the token rotation and ends every watcher. It does not
// deregister the service: the go-micro server does that when it stops. It
// does not revoke the token either, because the service's Vault policy does
// not allow it, so the token stays valid until its lease ends.
func (r *Registry) Close() error {
	r.closeOnce.Do(func() {
		r.cancel()
		<-r.done
		r.mu.Lock()
		close(r.closed)
		r.mu.Unlock()
		r.log.Info("stopped the Consul token rotation", slog.Any("token", r.Token()))
	})
	return nil
}

// Err returns an error when the registry cannot keep the service registered:
// the token's lease ended without a replacement, or Consul rejected the last
// attempt to register one of the service's nodes. It makes no network call,
// so a health endpoint can call it often. CheckRegistered queries Consul.
func (r *Registry) Err() error {
	if err := r.rotator.err(); err != nil {
		return err
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	ids := slices.Sorted(maps.Keys(r.nodes))
	for _, id := range ids {
		if reg := r.nodes[id]; reg.lastErr != nil {
			return fmt.Errorf("registry: last registration of node %s of service %q failed: %w",
				id, reg.service.Name, reg.lastErr)
		}
	}
	return nil
}
