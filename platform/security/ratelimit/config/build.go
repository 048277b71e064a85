package config

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"

	"github.com/bulwark-go/bulwark/platform/security/ratelimit"
	"github.com/bulwark-go/bulwark/platform/security/ratelimit/redisstore"
)

// StoreOptions configures Settings.NewStore.
type StoreOptions struct {
	// Metrics counts fallbacks and tracks the keys of the memory store;
	// nil counts nothing.
	Metrics *ratelimit.Metrics
	// Logger receives store failures; nil means slog.Default().
	Logger *slog.Logger
	// Clock is the store's clock; nil means the machine's clock.
	Clock ratelimit.Clock
	// RedisTLS is the base TLS config of the connection to Redis, required
	// when store.redis.tls is true: the CA bundle that Redis's certificate
	// must chain to (RootCAs) and the client certificate that Redis may
	// demand (GetClientCertificate or Certificates). NewStore uses a copy
	// with ServerName set from the settings, and requires TLS 1.3 at least.
	RedisTLS *tls.Config
}

// NewStore builds the store of s.Store: a ratelimit.Memory, or a Redis
// store with a Memory for FailOpen. The returned close function releases
// the Redis client; it is never nil.
func (s *Settings) NewStore(opts StoreOptions) (ratelimit.Store, func() error, error) {
	memoryOpts := s.Store.Memory
	memoryOpts.Clock = opts.Clock
	memory, err := ratelimit.NewMemory[ratelimit.Key](memoryOpts)
	if err != nil {
		return nil, nil, err
	}
	if err := opts.Metrics.TrackKeys(BackendMemory, memory.Len); err != nil {
		return nil, nil, err
	}
	if s.Store.Backend != BackendRedis {
		return memory, func() error { return nil }, nil
	}

	r := s.Store.Redis
	clientOpts := r.Client
	if r.TLS {
		if clientOpts.TLS, err = redisTLSConfig(opts.RedisTLS, r.ServerName); err != nil {
			return nil, nil, err
		}
	}
	client, err := redisstore.NewClient(clientOpts)
	if err != nil {
		return nil, nil, err
	}
	store, err := redisstore.New(redisstore.Options{
		Client:        client,
		Prefix:        r.Prefix,
		Timeout:       r.Timeout,
		OnError:       r.OnError,
		Local:         memory,
		RetryInterval: r.RetryInterval,
		Clock:         opts.Clock,
		Metrics:       opts.Metrics,
		Logger:        opts.Logger,
	})
	if err != nil {
		client.Close()
		return nil, nil, fmt.Errorf("ratelimit/config: %w", err)
	}
	return store, client.Close, nil
}

// redisTLSConfig returns a copy of base that checks Redis's certificate
// for serverName and negotiates TLS 1.3 or later.
func redisTLSConfig(base *tls.Config, serverName string) (*tls.Config, error) {
	if base == nil {
		return nil, errors.New("ratelimit/config: store.redis.tls is true but StoreOptions.RedisTLS is nil; " +
			"pass the CA bundle and client certificate of the service")
	}
	if base.RootCAs == nil {
		return nil, errors.New("ratelimit/config: store.redis.tls is true but StoreOptions.RedisTLS has no RootCAs, " +
			"so Redis's certificate would be checked against the system roots; pass the stack's CA bundle")
	}
	if base.InsecureSkipVerify {
		return nil, errors.New("ratelimit/config: StoreOptions.RedisTLS sets InsecureSkipVerify; " +
			"Redis's certificate must be verified against the CA bundle")
	}
	config := base.Clone()
	config.ServerName = serverName
	if config.MinVersion < tls.VersionTLS13 {
		config.MinVersion = tls.VersionTLS13
	}
	return config, nil
}
