package ratelimit

import (
	"fmt"
	"slices"
	"sort"
)

// Rules chooses the limit of a request from its endpoint and its caller.
// The most specific rule wins: Pairs[endpoint][caller], then
// Endpoints[endpoint], then Callers[caller], then Default. An endpoint rule
// wins over a caller rule so that the limit protecting an expensive endpoint
// also binds a caller with a generous budget elsewhere. To raise it for one
// caller, add a pair.
//
// The handler wrapper reads the caller as the verified service identity.
// Other components document what they pass as endpoint and caller.
type Rules struct {
	// Default applies when no other rule matches. Required.
	Default Limit
	// Endpoints contains limits by endpoint, for example "Orders.Create".
	Endpoints map[string]Limit
	// Callers contains limits by caller, for example "gateway".
	Callers map[string]Limit
	// Pairs contains limits by endpoint, then caller.
	Pairs map[string]map[string]Limit
	// Anonymous is the one budget shared by all calls that carry no
	// verified identity. The zero Limit rejects such calls.
	Anonymous Limit
}

// Lookup returns the limit of a call from caller to endpoint.
func (r *Rules) Lookup(endpoint, caller string) Limit {
	if byCaller, ok := r.Pairs[endpoint]; ok {
		if l, ok := byCaller[caller]; ok {
			return l
		}
	}
	if l, ok := r.Endpoints[endpoint]; ok {
		return l
	}
	if l, ok := r.Callers[caller]; ok {
		return l
	}
	return r.Default
}

// Validate checks every limit and, when endpoints is not nil, that every
// endpoint named in Endpoints and Pairs is one of them, so that a typo does
// not leave an endpoint on the default limit unnoticed.
func (r *Rules) Validate(endpoints []string) error {
	if err := r.Default.Validate(); err != nil {
		return fmt.Errorf("ratelimit: default limit: %w", err)
	}
	if !r.Anonymous.IsZero() {
		if err := r.Anonymous.Validate(); err != nil {
			return fmt.Errorf("ratelimit: anonymous limit: %w", err)
		}
	}
	for _, name := range sortedKeys(r.Endpoints) {
		if err := checkEndpoint(name, endpoints); err != nil {
			return err
		}
		if err := r.Endpoints[name].Validate(); err != nil {
			return fmt.Errorf("ratelimit: limit of endpoint %q: %w", name, err)
		}
	}
	for _, name := range sortedKeys(r.Callers) {
		if err := r.Callers[name].Validate(); err != nil {
			return fmt.Errorf("ratelimit: limit of caller %q: %w", name, err)
		}
	}
	for _, endpoint := range sortedKeys(r.Pairs) {
		if err := checkEndpoint(endpoint, endpoints); err != nil {
			return err
		}
		byCaller := r.Pairs[endpoint]
		for _, caller := range sortedKeys(byCaller) {
			if err := byCaller[caller].Validate(); err != nil {
				return fmt.Errorf("ratelimit: limit of caller %q on endpoint %q: %w", caller, endpoint, err)
			}
		}
	}
	return nil
}

func checkEndpoint(name string, endpoints []string) error {
	if endpoints == nil || slices.Contains(endpoints, name) {
		return nil
	}
	return fmt.Errorf("ratelimit: endpoint %q is not registered by the service; use one of %v", name, endpoints)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
