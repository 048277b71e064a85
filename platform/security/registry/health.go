package registry

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	micro "go-micro.dev/v4"
	microregistry "go-micro.dev/v4/registry"
)

// ErrNotRegistered is wrapped by CheckRegistered's error when the service has
// no node in Consul's catalog with a passing check.
var ErrNotRegistered = errors.New("registry: service is not registered in Consul")

// DefaultCheckTimeout bounds the catalog lookup of the check that
// ServiceOptions runs after the service starts.
const DefaultCheckTimeout = 10 * time.Second

// CheckRegistered returns nil when every node registered through the
// Registry is in Consul's catalog with a check that is not critical, and at
// least one of them belongs to the Registry's own service. Otherwise it
// returns an error wrapping ErrNotRegistered: when Consul rejected the last
// registration of a node (the error includes Consul's response), when a node is
// missing from the catalog, or when no node of the service was registered.
//
// The go-micro server only logs a rejected registration and keeps serving, so
// a service runs this check after it starts and exits when it fails.
func (r *Registry) CheckRegistered(ctx context.Context) error {
	r.mu.RLock()
	byService := make(map[string][]string)
	ids := make([]string, 0, len(r.nodes))
	for id := range r.nodes {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var rejected error
	for _, id := range ids {
		reg := r.nodes[id]
		byService[reg.service.Name] = append(byService[reg.service.Name], id)
		if reg.lastErr != nil && rejected == nil {
			rejected = fmt.Errorf("%w: Consul rejected node %s of service %q: %w",
				ErrNotRegistered, id, reg.service.Name, reg.lastErr)
		}
	}
	r.mu.RUnlock()

	if rejected != nil {
		return rejected
	}
	if len(byService[r.service]) == 0 {
		return fmt.Errorf("%w: no node of service %q was registered through this registry; pass it to the "+
			"service with ServiceOptions", ErrNotRegistered, r.service)
	}

	for name, nodeIDs := range byService {
		services, err := r.getServiceContext(ctx, name)
		if errors.Is(err, microregistry.ErrNotFound) {
			services, err = nil, nil
		}
		if err != nil {
			return fmt.Errorf("%w: look up service %q: %w", ErrNotRegistered, name, err)
		}
		for _, id := range nodeIDs {
			if !hasNode(services, id) {
				return fmt.Errorf("%w: node %s of service %q is not in Consul's catalog or its check is critical",
					ErrNotRegistered, id, name)
			}
		}
	}
	return nil
}

// getServiceContext runs GetService and stops waiting when ctx ends. The
// plugin takes no context, so the lookup itself may run on in the background
// until its HTTP request ends.
func (r *Registry) getServiceContext(ctx context.Context, name string) ([]*microregistry.Service, error) {
	type result struct {
		services []*microregistry.Service
		err      error
	}
	done := make(chan result, 1)
	go func() {
		services, err := r.GetService(name)
		done <- result{services, err}
	}()
	select {
	case res := <-done:
		return res.services, res.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func hasNode(services []*microregistry.Service, id string) bool {
	for _, s := range services {
		if slices.ContainsFunc(s.Nodes, func(n *microregistry.Node) bool { return n.Id == id }) {
			return true
		}
	}
	return false
}

// ServiceOptions returns the go-micro options that connect a service to this
// Registry: the registry itself, the registration TTL and heartbeat interval,
// and an AfterStart hook that fails the start when CheckRegistered fails.
// Without the TTL and interval, the gRPC server registers the node once, with
// no health check. Pass these options after micro.Server and micro.Client,
// because micro.Registry configures the server and client set at that point.
func (r *Registry) ServiceOptions() []micro.Option {
	return []micro.Option{
		micro.Registry(r),
		micro.RegisterTTL(r.ttl),
		micro.RegisterInterval(r.interval),
		micro.AfterStart(func() error {
			ctx, cancel := context.WithTimeout(context.Background(), DefaultCheckTimeout)
			defer cancel()
			return r.CheckRegistered(ctx)
		}),
	}
}

// RegisterTTL returns the TTL of each node's health check in Consul.
func (r *Registry) RegisterTTL() time.Duration { return r.ttl }

// RegisterInterval returns the heartbeat period.
func (r *Registry) RegisterInterval() time.Duration { return r.interval }
