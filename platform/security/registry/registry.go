package registry

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	microregistry "go-micro.dev/v4/registry"
	regutil "go-micro.dev/v4/util/registry"
)

// buildFunc makes an inner registry client that authenticates with the token.
type buildFunc func(t Token, address string, tlsConfig *tls.Config, timeout time.Duration) microregistry.Registry

// registration is a node that the service asked to register, kept so that it
// can be registered again with each new token.
type registration struct {
	service *microregistry.Service
	opts    []microregistry.RegisterOption
	lastErr error     // result of the last attempt
	lastOK  time.Time // end of the last successful attempt, or zero if none
}

// Registry is a go-micro registry.Registry backed by Consul that switches to
// each new token without a restart and without dropping its registrations.
// It is safe for concurrent use. Create it with [New].
type Registry struct {
	service  string
	log      *slog.Logger
	build    buildFunc
	ttl      time.Duration
	interval time.Duration

	// regMu serializes Register, Deregister and token switches, so that no
	// registration goes to Consul with a token that is being replaced.
	regMu sync.Mutex
	nodes map[string]*registration // by node ID, written under both regMu and mu

	mu        sync.RWMutex
	address   string
	tlsConfig *tls.Config
	timeout   time.Duration
	inner     microregistry.Registry
	token     Token
	swapped   chan struct{} // closed when inner is replaced
	closed    chan struct{} // closed by Close

	rotator   *rotator
	cancel    context.CancelFunc
	done      chan struct{} // closed when the rotation loop returns
	closeOnce sync.Once
}

// current returns the inner registry, its token, and a channel that is closed
// when either is replaced.
func (r *Registry) current() (microregistry.Registry, Token, <-chan struct{}) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.inner, r.token, r.swapped
}

// Register registers the service's first node with Consul, the way the
// go-micro Consul plugin does, and remembers it so that it is registered again
// after every token switch. It returns Consul's error, for example a 403 when
// the token's policy does not allow writing the service's name.
func (r *Registry) Register(s *microregistry.Service, opts ...microregistry.RegisterOption) error {
	if s == nil || len(s.Nodes) == 0 || s.Nodes[0] == nil {
		return errors.New("registry: Register needs a service with at least one node")
	}
	if s.Nodes[0].Id == "" {
		return fmt.Errorf("registry: service %q has a node without an ID; set server.Id", s.Name)
	}
	r.regMu.Lock()
	defer r.regMu.Unlock()

	inner, tok, _ := r.current()
	err := redactSecret(inner.Register(s, opts...), tok)
	now := time.Now()

	id := s.Nodes[0].Id
	r.mu.Lock()
	reg := r.nodes[id]
	if reg == nil {
		reg = &registration{}
		r.nodes[id] = reg
	}
	reg.service = regutil.CopyService(s)
	reg.opts = append([]microregistry.RegisterOption(nil), opts...)
	reg.lastErr = err
	if err == nil {
		reg.lastOK = now
	}
	r.mu.Unlock()

	if err != nil {
		r.log.Error("Consul rejected the registration", slog.String("service", s.Name),
			slog.String("node_id", id), slog.String("token_accessor_id", tok.AccessorID), slog.Any("error", err))
		r.noteConsulError(err)
		return fmt.Errorf("registry: register node %s of service %q with token %s: %w; check that the token's "+
			"policy allows service:write on %q", id, s.Name, tok.AccessorID, err, s.Name)
	}
	return nil
}

// Deregister removes the service's first node from Consul and from the nodes
// that a token switch registers again.
func (r *Registry) Deregister(s *microregistry.Service, opts ...microregistry.DeregisterOption) error {
	if s == nil || len(s.Nodes) == 0 || s.Nodes[0] == nil {
		return errors.New("registry: Deregister needs a service with at least one node")
	}
	r.regMu.Lock()
	defer r.regMu.Unlock()

	id := s.Nodes[0].Id
	r.mu.Lock()
	delete(r.nodes, id)
	r.mu.Unlock()

	inner, tok, _ := r.current()
	if err := redactSecret(inner.Deregister(s, opts...), tok); err != nil {
		r.noteConsulError(err)
		return fmt.Errorf("registry: deregister node %s of service %q: %w", id, s.Name, err)
	}
	r.log.Info("deregistered from Consul", slog.String("service", s.Name), slog.String("node_id", id))
	return nil
}

// GetService returns the nodes of the named service whose checks are not
// critical.
func (r *Registry) GetService(name string, opts ...microregistry.GetOption) ([]*microregistry.Service, error) {
	inner, tok, _ := r.current()
	services, err := inner.GetService(name, opts...)
	if err != nil {
		err = redactSecret(err, tok)
		r.noteConsulError(err)
		return nil, fmt.Errorf("registry: look up service %q: %w", name, err)
	}
	return services, nil
}

// ListServices returns the names of the services in Consul's catalog that the
// token may read.
func (r *Registry) ListServices(opts ...microregistry.ListOption) ([]*microregistry.Service, error) {
	inner, tok, _ := r.current()
	services, err := inner.ListServices(opts...)
	if err != nil {
		err = redactSecret(err, tok)
		r.noteConsulError(err)
		return nil, fmt.Errorf("registry: list services: %w", err)
	}
	return services, nil
}

// String returns "consul", the name go-micro uses for this kind of registry.
// go-micro's command-line setup replaces a registry whose name differs from
// the MICRO_REGISTRY setting, so another name would invite that replacement.
func (r *Registry) String() string {
	return "consul"
}

// Token returns the Consul token in use.
func (r *Registry) Token() Token {
	_, tok, _ := r.current()
	return tok
}

// noteConsulError starts a rotation when Consul rejects the token as unknown,
// which happens when Vault revoked the lease before its end.
func (r *Registry) noteConsulError(err error) {
	if r.rotator != nil && isACLNotFound(err) {
		r.rotator.invalidate()
	}
}

// switchToken builds an inner registry that uses t, registers every known node
// with it, and only then makes it current. Registering a node again also moves
// the Consul agent's anti-entropy sync of that node to the new token. If a
// node that was registered before cannot be registered with t, switchToken
// returns the error and keeps the old token, which is still valid.
func (r *Registry) switchToken(_ context.Context, t Token) error {
	r.regMu.Lock()
	defer r.regMu.Unlock()

	r.mu.RLock()
	address, tlsConfig, timeout := r.address, r.tlsConfig, r.timeout
	r.mu.RUnlock()
	return r.replaceLocked(t, address, tlsConfig, timeout)
}

// replaceLocked moves every node to a new inner registry and makes it
// current. The caller holds regMu.
func (r *Registry) replaceLocked(t Token, address string, tlsConfig *tls.Config, timeout time.Duration) error {
	started := time.Now()
	next := r.build(t, address, tlsConfig, timeout)

	r.mu.RLock()
	ids := make([]string, 0, len(r.nodes))
	regs := make([]registration, 0, len(r.nodes))
	for id, reg := range r.nodes {
		ids = append(ids, id)
		regs = append(regs, *reg)
	}
	r.mu.RUnlock()

	for i, reg := range regs {
		err := redactSecret(next.Register(reg.service, reg.opts...), t)
		if err != nil && !reg.lastOK.IsZero() {
			return fmt.Errorf("registry: register node %s of service %q with new token %s: %w",
				ids[i], reg.service.Name, t.AccessorID, err)
		}
		regs[i].lastErr = err
	}

	now := time.Now()
	r.mu.Lock()
	old := r.token
	r.inner, r.token = next, t
	r.address, r.tlsConfig, r.timeout = address, tlsConfig, timeout
	for i, id := range ids {
		if reg, ok := r.nodes[id]; ok {
			reg.lastErr = regs[i].lastErr
			if regs[i].lastErr == nil {
				reg.lastOK = now
			}
		}
	}
	close(r.swapped)
	r.swapped = make(chan struct{})
	r.mu.Unlock()

	r.log.Info("moved registrations to the new Consul client", slog.Any("token", t),
		slog.String("previous_accessor_id", old.AccessorID), slog.Int("nodes", len(ids)),
		slog.Duration("took", time.Since(started)))
	return nil
}
