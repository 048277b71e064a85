package boot

import (
	"context"
	"crypto/tls"
	"fmt"
	"os"
	"slices"
	"strings"

	merrors "go-micro.dev/v4/errors"
	"go-micro.dev/v4/server"

	"github.com/bulwark-go/bulwark/platform/security/ratelimit"
	"github.com/bulwark-go/bulwark/platform/security/ratelimit/config"
	"github.com/bulwark-go/bulwark/platform/security/ratelimit/microwrap"
)

// Limits are the service's rate-limit settings and the store that keeps
// their budgets.
type Limits struct {
	// Reloader holds the current settings and reloads them on SIGHUP.
	Reloader *config.Reloader
	// Store keeps the budgets: in memory, or in Redis when configured.
	Store ratelimit.Store
	// Metrics counts allowed and rejected requests on /metrics.
	Metrics *ratelimit.Metrics

	closeStore func() error
}

func (l *Limits) close() error { return l.closeStore() }

// Limits loads the rate limits once, checked against the endpoints and
// topics registered so far and Options.Routes, and returns them. After the
// first call, Handle and Subscribe fail. Run calls it; the gateway calls it
// earlier to build its HTTP limits.
func (s *Service) Limits() (*Limits, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.limits != nil {
		return s.limits, nil
	}
	metrics, err := ratelimit.NewMetrics(s.Metrics, s.Name)
	if err != nil {
		return nil, fmt.Errorf("boot: %w", err)
	}
	reloader, err := config.NewReloader(s.Env.RateLimitFile, config.LoadOptions{
		Service: s.Name,
		// Non-nil, so that a file naming an endpoint of a service without
		// handlers is rejected rather than left unchecked.
		Endpoints: append([]string{}, s.endpoints...),
		Topics:    append([]string{}, s.topics...),
		Routes:    slices.Clone(s.opts.Routes),
		Environ:   limitEnviron(os.Environ()),
	}, config.ReloaderOptions{Logger: s.Log})
	if err != nil {
		return nil, fmt.Errorf("boot: rate limits (%s): %w", describeFile(s.Env.RateLimitFile), err)
	}
	settings := reloader.Settings()
	store, closeStore, err := settings.NewStore(config.StoreOptions{Metrics: metrics, Logger: s.Log, RedisTLS: s.redisTLS()})
	if err != nil {
		return nil, fmt.Errorf("boot: rate-limit store: %w", err)
	}
	limits := &Limits{Reloader: reloader, Store: store, Metrics: metrics, closeStore: closeStore}

	handler, err := microwrap.NewHandlerWrapper(microwrap.HandlerOptions{
		Service: s.Name, Store: store, Rules: reloader.HandlerRules, Metrics: metrics, Logger: s.Log,
	})
	if err != nil {
		closeStore()
		return nil, fmt.Errorf("boot: %w", err)
	}
	subscriber, err := microwrap.NewSubscriberWrapper(microwrap.SubscriberOptions{
		Service: s.Name, Store: store, Rules: reloader.SubscriberRules, MaxWait: settings.Subscriber.MaxWait,
		Metrics: metrics, Logger: s.Log,
	})
	if err != nil {
		closeStore()
		return nil, fmt.Errorf("boot: %w", err)
	}
	s.handlerWrapper.Store(&handler)
	s.subWrapper.Store(&subscriber)
	s.limits = limits
	s.Log.Info("rate limits loaded", "file", s.Env.RateLimitFile, "store", settings.Store.Backend,
		"redis_tls", settings.Store.Backend == config.BackendRedis && settings.Store.Redis.TLS,
		"endpoints", s.endpoints, "topics", s.topics)
	return limits, nil
}

// redisTLS returns the base TLS config of the link to Redis, which the
// store uses when store.redis.tls is true. Redis's certificate must chain
// to the CA bundle, and the service presents its Vault certificate as the
// client certificate through GetClientCertificate, so every new connection
// presents the current certificate after a rotation.
//
// NOTE: RootCAs is the CA bundle as loaded at start. Redis's certificate is
// signed by the root CA, and replacing the root needs a restart anyway.
func (s *Service) redisTLS() *tls.Config {
	if s.certs == nil {
		return nil
	}
	return &tls.Config{
		MinVersion:           tls.VersionTLS13,
		RootCAs:              s.certs.Roots(),
		GetClientCertificate: s.certs.GetClientCertificate,
	}
}

// limitEnviron returns environ without BULWARK_RATELIMIT_FILE. The config
// package reads every BULWARK_RATELIMIT_ variable as an override and
// rejects unknown ones, and the file's own variable is not an override.
func limitEnviron(environ []string) []string {
	out := make([]string, 0, len(environ))
	for _, kv := range environ {
		if !strings.HasPrefix(kv, EnvRateLimitFile+"=") {
			out = append(out, kv)
		}
	}
	return out
}

func describeFile(path string) string {
	if path == "" {
		return EnvRateLimitFile + " not set; defaults and environment"
	}
	return path
}

// limitHandler applies the rate-limit handler wrapper, which Limits builds
// once every handler is registered. secure.Config takes its wrappers before
// any handler exists, so this wrapper looks the real one up per call. The
// server accepts calls only after Run loaded the limits, so the 503 branch
// is a guard, not a path that serves traffic.
func (s *Service) limitHandler(next server.HandlerFunc) server.HandlerFunc {
	return func(ctx context.Context, req server.Request, rsp any) error {
		w := s.handlerWrapper.Load()
		if w == nil {
			return merrors.New(s.Name, "rate limits are not loaded yet; retry later", 503)
		}
		return (*w)(next)(ctx, req, rsp)
	}
}

// limitSubscriber is limitHandler for subscribers.
func (s *Service) limitSubscriber(next server.SubscriberFunc) server.SubscriberFunc {
	return func(ctx context.Context, msg server.Message) error {
		w := s.subWrapper.Load()
		if w == nil {
			return merrors.New(s.Name, "rate limits are not loaded yet; retry later", 503)
		}
		return (*w)(next)(ctx, msg)
	}
}
