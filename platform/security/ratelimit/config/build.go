package config

import (
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
	client, err := redisstore.NewClient(r.Client)
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
