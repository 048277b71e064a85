package registry

import (
	"fmt"
	"time"

	microregistry "go-micro.dev/v4/registry"
)

// minTimeout is the shortest HTTP client timeout that Init accepts. Watchers
// hold blocking queries open for Consul's default wait of 5 minutes, plus up to
// a sixteenth of that as jitter.
const minTimeout = 6 * time.Minute

// Init applies go-micro registry options. Only Addrs, TLSConfig and Timeout
// take effect, and they are validated like Options: exactly one host:port
// address and a TLS config that verifies Consul and presents a client
// certificate. Secure is ignored because TLS is always on, and Context values
// such as the plugin's Consul config are ignored because the token comes from
// Vault. A valid change moves every registration to a new client, as a token
// switch does. go-micro calls Init with Addrs when the registry_address flag
// or MICRO_REGISTRY_ADDRESS is set.
func (r *Registry) Init(opts ...microregistry.Option) error {
	current := r.Options()
	next := current
	for _, o := range opts {
		o(&next)
	}

	if len(next.Addrs) != 1 {
		return fmt.Errorf("registry: Init got %d Consul addresses %q; pass exactly one host:port, because the "+
			"plugin picks among several only when a client is made and never fails over later", len(next.Addrs), next.Addrs)
	}
	if err := ValidateAddress(next.Addrs[0]); err != nil {
		return err
	}
	if err := ValidateTLSConfig(next.TLSConfig); err != nil {
		return err
	}
	if next.Timeout != 0 && next.Timeout < minTimeout {
		return fmt.Errorf("registry: Init got the timeout %v, which would cut off the watchers' blocking "+
			"queries; use zero for none or at least %v", next.Timeout, minTimeout)
	}

	r.regMu.Lock()
	defer r.regMu.Unlock()
	_, tok, _ := r.current()
	return r.replaceLocked(tok, next.Addrs[0], next.TLSConfig.Clone(), next.Timeout)
}

// Options returns the registry's settings as go-micro registry options, with a
// clone of the TLS config.
func (r *Registry) Options() microregistry.Options {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return microregistry.Options{
		Addrs:     []string{r.address},
		TLSConfig: r.tlsConfig.Clone(),
		Timeout:   r.timeout,
		Secure:    true,
	}
}
