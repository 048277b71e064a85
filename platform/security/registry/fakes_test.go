package registry

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	microregistry "go-micro.dev/v4/registry"
)

// fakeClock is a clock whose time moves only through Advance.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	at      time.Time
	ch      chan time.Time
	stopped bool
	fired   bool
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{at: c.now.Add(d), ch: make(chan time.Time, 1)}
	if d <= 0 {
		t.fired = true
		t.ch <- c.now
	} else {
		c.timers = append(c.timers, t)
	}
	return t.ch, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		was := !t.fired && !t.stopped
		t.stopped = true
		return was
	}
}

// Advance moves time forward by d and fires the timers that are due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	for _, t := range c.timers {
		if !t.fired && !t.stopped && !t.at.After(c.now) {
			t.fired = true
			t.ch <- c.now
		}
	}
}

// nextTimer returns when the earliest active timer fires.
func (c *fakeClock) nextTimer() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var next time.Time
	found := false
	for _, t := range c.timers {
		if !t.fired && !t.stopped && (!found || t.at.Before(next)) {
			next, found = t.at, true
		}
	}
	return next, found
}

// waitIdle waits until some goroutine waits on a timer, which the rotation
// loop does between steps.
func (c *fakeClock) waitIdle(t *testing.T) time.Time {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if at, ok := c.nextTimer(); ok {
			return at
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("the rotation loop did not wait on a timer within 5s")
	return time.Time{}
}

// fakeConsul imitates Consul's ACLs and agent in unit tests. Each token may
// write one service name, and each node records the token that registered it
// last, as the agent does for its anti-entropy sync.
type fakeConsul struct {
	mu         sync.Mutex
	tokens     map[string]string // secret ID → service name it may write
	nodes      map[string]fakeNode
	watchers   []*fakeWatcher
	clients    []*fakeClient
	registerFn func(secret string, s *microregistry.Service) error // optional failure injection
}

type fakeNode struct {
	service string
	secret  string
	address string
}

func newFakeConsul() *fakeConsul {
	return &fakeConsul{tokens: map[string]string{}, nodes: map[string]fakeNode{}}
}

func (c *fakeConsul) build(t Token, address string, tlsConfig *tls.Config, _ time.Duration) microregistry.Registry {
	c.mu.Lock()
	defer c.mu.Unlock()
	cl := &fakeClient{consul: c, secret: t.SecretID(), address: address, tlsConfig: tlsConfig}
	c.clients = append(c.clients, cl)
	return cl
}

func (c *fakeConsul) node(id string) (fakeNode, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, ok := c.nodes[id]
	return n, ok
}

func (c *fakeConsul) revoke(secret string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.tokens, secret)
}

// fakeClient is one plugin client bound to one token.
type fakeClient struct {
	consul    *fakeConsul
	secret    string
	address   string
	tlsConfig *tls.Config
}

func (f *fakeClient) authorize(name string) error {
	allowed, ok := f.consul.tokens[f.secret]
	if !ok {
		return errors.New("Unexpected response code: 403 (ACL not found)")
	}
	if name != "" && allowed != name {
		return fmt.Errorf("Unexpected response code: 403 (Permission denied: token lacks 'service:write' on %q)",
			name)
	}
	return nil
}

func (f *fakeClient) Init(...microregistry.Option) error { return nil }

func (f *fakeClient) Options() microregistry.Options { return microregistry.Options{} }

func (f *fakeClient) Register(s *microregistry.Service, _ ...microregistry.RegisterOption) error {
	f.consul.mu.Lock()
	defer f.consul.mu.Unlock()
	if err := f.authorize(s.Name); err != nil {
		return err
	}
	if fn := f.consul.registerFn; fn != nil {
		if err := fn(f.secret, s); err != nil {
			return err
		}
	}
	f.consul.nodes[s.Nodes[0].Id] = fakeNode{service: s.Name, secret: f.secret, address: s.Nodes[0].Address}
	return nil
}

func (f *fakeClient) Deregister(s *microregistry.Service, _ ...microregistry.DeregisterOption) error {
	f.consul.mu.Lock()
	defer f.consul.mu.Unlock()
	if err := f.authorize(s.Name); err != nil {
		return err
	}
	delete(f.consul.nodes, s.Nodes[0].Id)
	return nil
}

func (f *fakeClient) GetService(name string, _ ...microregistry.GetOption) ([]*microregistry.Service, error) {
	f.consul.mu.Lock()
	defer f.consul.mu.Unlock()
	if err := f.authorize(""); err != nil {
		return nil, err
	}
	svc := &microregistry.Service{Name: name}
	for id, n := range f.consul.nodes {
		if n.service == name {
			svc.Nodes = append(svc.Nodes, &microregistry.Node{Id: id, Address: n.address})
		}
	}
	if len(svc.Nodes) == 0 {
		return nil, microregistry.ErrNotFound
	}
	return []*microregistry.Service{svc}, nil
}

func (f *fakeClient) ListServices(...microregistry.ListOption) ([]*microregistry.Service, error) {
	return nil, nil
}

func (f *fakeClient) Watch(opts ...microregistry.WatchOption) (microregistry.Watcher, error) {
	var wo microregistry.WatchOptions
	for _, o := range opts {
		o(&wo)
	}
	w := &fakeWatcher{client: f, service: wo.Service, ch: make(chan *microregistry.Result, 16),
		exit: make(chan struct{})}
	f.consul.mu.Lock()
	f.consul.watchers = append(f.consul.watchers, w)
	f.consul.mu.Unlock()
	return w, nil
}

func (f *fakeClient) String() string { return "fake" }

// fakeWatcher delivers the results that a test sends through it.
type fakeWatcher struct {
	client  *fakeClient
	service string
	ch      chan *microregistry.Result
	exit    chan struct{}
	once    sync.Once
}

func (w *fakeWatcher) Next() (*microregistry.Result, error) {
	select {
	case r := <-w.ch:
		return r, nil
	case <-w.exit:
		return nil, microregistry.ErrWatcherStopped
	}
}

func (w *fakeWatcher) Stop() { w.once.Do(func() { close(w.exit) }) }

func (w *fakeWatcher) stopped() bool {
	select {
	case <-w.exit:
		return true
	default:
		return false
	}
}

// fakeIssuer plays Vault's Consul secrets engine with a role of the given ttl
// and max_ttl.
type fakeIssuer struct {
	mu        sync.Mutex
	clock     clock
	consul    *fakeConsul
	service   string
	ttl       time.Duration
	maxTTL    time.Duration
	issued    []Token
	renewals  int
	issueErr  error
	renewErr  error
	echo      bool                 // renew fails with an error that quotes the secret ID
	notBefore map[string]time.Time // lease ID → issue time
}

func newFakeIssuer(c clock, consul *fakeConsul, service string, ttl, maxTTL time.Duration) *fakeIssuer {
	return &fakeIssuer{clock: c, consul: consul, service: service, ttl: ttl, maxTTL: maxTTL,
		notBefore: map[string]time.Time{}}
}

func (f *fakeIssuer) issue(context.Context) (Token, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.issueErr != nil {
		return Token{}, f.issueErr
	}
	n := len(f.issued) + 1
	secret := fmt.Sprintf("%08d-secret-of-token-%d", n, n)
	lease := fmt.Sprintf("consul/creds/%s/lease%d", f.service, n)
	t := newToken(secret, fmt.Sprintf("accessor-%d", n), lease, f.ttl, true, f.clock.Now())
	f.issued = append(f.issued, t)
	f.notBefore[lease] = t.IssuedAt
	if f.consul != nil {
		f.consul.mu.Lock()
		f.consul.tokens[secret] = f.service
		f.consul.mu.Unlock()
	}
	return t, nil
}

func (f *fakeIssuer) renew(_ context.Context, t Token, increment time.Duration) (time.Duration, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.renewals++
	if f.renewErr != nil {
		return 0, f.renewErr
	}
	if f.echo {
		return 0, fmt.Errorf("renewal of token %s refused", t.SecretID())
	}
	left := f.notBefore[t.LeaseID].Add(f.maxTTL).Sub(f.clock.Now())
	if left <= 0 {
		return 0, errors.New("lease not found or lease is not renewable")
	}
	return min(increment, left), nil
}

func (f *fakeIssuer) count() (issued, renewals int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.issued), f.renewals
}

func noJitter(time.Duration) time.Duration { return 0 }
