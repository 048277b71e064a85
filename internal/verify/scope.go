package verify

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
)

// scope is the set of addresses the checks may send traffic to: loopback,
// and the /24 around Consul's address when that address is private (the
// compose stack's container subnet, which the host reaches directly).
type scope struct {
	subnet netip.Prefix // invalid when Consul is on loopback
}

// newScope derives the scope from Consul's address.
func newScope(consulAddr string) (scope, error) {
	host, _, err := net.SplitHostPort(consulAddr)
	if err != nil {
		return scope{}, fmt.Errorf("verify: CONSUL_HTTP_ADDR %q is not host:port: %w", consulAddr, err)
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return scope{}, fmt.Errorf("verify: CONSUL_HTTP_ADDR %q is not an IP address; the stack's env file names Consul by address", consulAddr)
	}
	addr = addr.Unmap()
	if addr.IsLoopback() {
		return scope{}, nil
	}
	if !addr.Is4() || !addr.IsPrivate() {
		return scope{}, fmt.Errorf("verify: CONSUL_HTTP_ADDR %q is neither loopback nor a private IPv4 address; verify audits only a local stack", consulAddr)
	}
	prefix, _ := addr.Prefix(24)
	return scope{subnet: prefix}, nil
}

// check returns an error unless host:port is loopback or inside the subnet.
func (s scope) check(what, hostport string) error {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return fmt.Errorf("verify: %s address %q is not host:port: %w", what, hostport, err)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("verify: %s address %q has an invalid port", what, hostport)
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("verify: %s address %q is not an IP address; verify sends traffic only to IP addresses of the stack", what, hostport)
	}
	addr = addr.Unmap()
	if addr.IsLoopback() || (s.subnet.IsValid() && s.subnet.Contains(addr)) {
		return nil
	}
	allowed := "loopback"
	if s.subnet.IsValid() {
		allowed += " or " + s.subnet.String()
	}
	return &ScopeError{What: what, Address: hostport, Allowed: allowed}
}

// ScopeError is returned for an address outside the stack, to which verify
// sends nothing.
type ScopeError struct {
	What, Address, Allowed string
}

func (e *ScopeError) Error() string {
	return fmt.Sprintf("verify: refusing to send traffic to %s address %s: it is outside the stack (%s)", e.What, e.Address, e.Allowed)
}

func isScopeError(err error) bool {
	var scopeErr *ScopeError
	return errors.As(err, &scopeErr)
}

// checkURL checks the host of an https URL and returns its host:port.
func (s scope) checkURL(what, raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return "", fmt.Errorf("verify: %s %q is not an https://host:port URL", what, raw)
	}
	hostport := u.Host
	if u.Port() == "" {
		hostport = net.JoinHostPort(u.Hostname(), "443")
	}
	return hostport, s.check(what, hostport)
}
