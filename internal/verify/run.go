package verify

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// DefaultTimeout bounds each request of a check.
const DefaultTimeout = 10 * time.Second

// Config selects the stack and the checks.
type Config struct {
	// Env is the parsed env file of the stack. Required.
	Env Env

	// Groups are the check groups to run, a subset of Groups. Empty runs
	// all of them.
	Groups []string

	// AuthzFile is the authorization table the services enforce
	// (infra/authz.yaml). Required for the mtls group.
	AuthzFile string

	// Timeout bounds each request. Default DefaultTimeout.
	Timeout time.Duration
}

// ValidateGroups returns an error naming the first unknown group.
func ValidateGroups(groups []string) error {
	for _, g := range groups {
		if !slices.Contains(Groups, g) {
			return fmt.Errorf("unknown check %q; use one of %v", g, Groups)
		}
	}
	return nil
}

// Run performs the checks of cfg.Groups in the order of Groups and returns
// their results. It returns an error only when the configuration is
// invalid, a credential file cannot be read, or an address lies outside the
// stack. A protection that does not hold is a Result that did not pass.
func Run(ctx context.Context, cfg Config) ([]Result, error) {
	if err := ValidateGroups(cfg.Groups); err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	groups := cfg.Groups
	if len(groups) == 0 {
		groups = Groups
	}
	t, err := newTarget(cfg.Env, cfg.Timeout)
	if err != nil {
		return nil, err
	}
	defer t.close()

	var tbl *table
	if slices.Contains(groups, "mtls") {
		if tbl, err = loadTable(cfg.AuthzFile); err != nil {
			return nil, err
		}
	}
	var instances []instance
	var catalogErr error
	if slices.ContainsFunc(groups, func(g string) bool { return g == "mtls" || g == "certs" || g == "limits" }) {
		instances, catalogErr = t.catalog(ctx)
		if catalogErr != nil && isScopeError(catalogErr) {
			return nil, catalogErr
		}
		if catalogErr == nil && len(instances) == 0 {
			catalogErr = fmt.Errorf("the Consul catalog lists no service instance; is the stack running?")
		}
	}

	var results []Result
	for _, group := range Groups {
		if !slices.Contains(groups, group) {
			continue
		}
		switch group {
		case "registry":
			results = append(results, t.checkRegistry(ctx)...)
		case "vault":
			results = append(results, t.checkVault(ctx)...)
		case "mtls", "certs", "limits":
			if catalogErr != nil {
				results = append(results, fail(group, "Consul catalog listed", catalogErr.Error()))
				continue
			}
			switch group {
			case "mtls":
				results = append(results, t.checkMTLS(ctx, instances, tbl)...)
			case "certs":
				results = append(results, t.checkCerts(ctx, instances)...)
			case "limits":
				results = append(results, t.checkLimits(ctx, instances)...)
			}
		}
	}
	return results, nil
}
