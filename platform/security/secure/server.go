package secure

import (
	"errors"
	"fmt"
	"sync"

	"go-micro.dev/v4/server"

	"github.com/bulwark-go/bulwark/platform/security/authz"
)

// guardedServer is the go-micro gRPC server with a check at Start: every
// endpoint that the policy lists for the service is served, and every topic
// it subscribes to may be received. Without it a typo in the policy denies
// calls silently, and a refused subscription is only logged by go-micro.
type guardedServer struct {
	server.Server
	policy *authz.Policy
	name   string

	mu        sync.Mutex
	endpoints []string
	topics    []string
}

// Handle records the handler's endpoints and registers it.
func (g *guardedServer) Handle(h server.Handler) error {
	g.mu.Lock()
	for _, e := range h.Endpoints() {
		g.endpoints = append(g.endpoints, e.Name)
	}
	g.mu.Unlock()
	return g.Server.Handle(h)
}

// Subscribe records the subscriber's topic and registers it.
func (g *guardedServer) Subscribe(s server.Subscriber) error {
	g.mu.Lock()
	g.topics = append(g.topics, s.Topic())
	g.mu.Unlock()
	return g.Server.Subscribe(s)
}

// Start checks the policy against the handlers and subscribers, then starts
// the server.
func (g *guardedServer) Start() error {
	g.mu.Lock()
	endpoints, topics := g.endpoints, g.topics
	g.mu.Unlock()
	var errs []error
	if err := g.policy.CheckEndpoints(g.name, endpoints); err != nil {
		errs = append(errs, err)
	}
	for _, topic := range topics {
		if err := g.policy.AllowSubscribe(g.name, topic); err != nil {
			errs = append(errs, fmt.Errorf("%w; add %s to the subscribers of %s", err, g.name, topic))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("secure: service %s does not match its policy: %w", g.name, errors.Join(errs...))
	}
	return g.Server.Start()
}
