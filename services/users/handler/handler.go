package handler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"time"

	"github.com/bulwark-go/bulwark/services/users/api"
	"github.com/bulwark-go/bulwark/services/users/internal/password"
	"github.com/bulwark-go/bulwark/services/users/internal/store"
	merrors "go-micro.dev/v4/errors"
)

// DefaultSessionTTL is the lifetime of a session when Options.SessionTTL is 0.
const DefaultSessionTTL = 12 * time.Hour

// MaxSessionTTL is the longest accepted Options.SessionTTL.
const MaxSessionTTL = 30 * 24 * time.Hour

// Options configures the users handler. The zero value of every optional
// field selects the documented default.
type Options struct {
	// Store is the users database. Required.
	Store *store.Store
	// Log receives one line per failed request. Required.
	Log *slog.Logger
	// SessionTTL is how long a session stays valid after login. Optional;
	// default DefaultSessionTTL, maximum MaxSessionTTL.
	SessionTTL time.Duration
	// Params are the argon2id parameters of new hashes. Optional; default
	// password.DefaultParams.
	Params password.Params
	// MaxConcurrentHashes bounds concurrent argon2id computations. Optional;
	// default runtime.GOMAXPROCS(0).
	MaxConcurrentHashes int
	// Now returns the current time. Optional; default time.Now. Tests pass a
	// fake clock.
	Now func() time.Time
}

// Users is the go-micro handler of the users service. Register it with
// micro.RegisterHandler; its endpoints are named in package api.
type Users struct {
	store     *store.Store
	log       *slog.Logger
	ttl       time.Duration
	params    password.Params
	now       func() time.Time
	hashSlots chan struct{}
	dummyHash string
}

// New returns a users handler.
func New(opts Options) (*Users, error) {
	if opts.Store == nil {
		return nil, errors.New("handler: Options.Store is nil; open the users store first")
	}
	if opts.Log == nil {
		return nil, errors.New("handler: Options.Log is nil; pass the service logger")
	}
	ttl := opts.SessionTTL
	switch {
	case ttl == 0:
		ttl = DefaultSessionTTL
	case ttl < time.Minute || ttl > MaxSessionTTL:
		return nil, fmt.Errorf("handler: session TTL %v is out of range; use 1m to %v", ttl, MaxSessionTTL)
	}
	params := opts.Params
	if params == (password.Params{}) {
		params = password.DefaultParams
	}
	slots := opts.MaxConcurrentHashes
	if slots < 0 {
		return nil, fmt.Errorf("handler: MaxConcurrentHashes %d is negative; use 0 for the default or a positive bound", slots)
	}
	if slots == 0 {
		slots = runtime.GOMAXPROCS(0)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	// The dummy hash is verified for unknown emails. It uses the same
	// parameters as real hashes so that both paths cost the same.
	dummy, err := password.Hash("dummy password for unknown users", params)
	if err != nil {
		return nil, fmt.Errorf("handler: %w", err)
	}
	return &Users{
		store:     opts.Store,
		log:       opts.Log,
		ttl:       ttl,
		params:    params,
		now:       now,
		hashSlots: make(chan struct{}, slots),
		dummyHash: dummy,
	}, nil
}

// hashBusy logs and returns the 503 sent when no argon2id slot freed up
// before the request's deadline.
func (h *Users) hashBusy(ctx context.Context, err error) error {
	h.log.WarnContext(ctx, "no password hash slot before the request deadline", "err", err,
		"max_concurrent_hashes", cap(h.hashSlots))
	return merrors.New(api.ServiceName, "too many password checks in progress; retry shortly", 503)
}

// acquireHash waits for an argon2id slot until ctx is done.
func (h *Users) acquireHash(ctx context.Context) (release func(), err error) {
	select {
	case h.hashSlots <- struct{}{}:
		return func() { <-h.hashSlots }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
