package httplimit

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Forwarding headers that ClientIPOptions.Header accepts.
const (
	HeaderXForwardedFor = "X-Forwarded-For"
	HeaderForwarded     = "Forwarded"
)

// DefaultIPv6Prefix is the prefix length that keys an IPv6 client: one
// subscriber usually holds a whole /64, so keying single addresses would
// give one client 2^64 budgets.
const DefaultIPv6Prefix = 64

// maxHops bounds how many forwarding entries, counted from the right, are
// examined. Entries further left can only matter when every hop to their
// right is a trusted proxy.
const maxHops = 32

// ClientIPOptions configures NewClientIPResolver.
type ClientIPOptions struct {
	// TrustedProxies lists the networks of the proxies in front of the
	// gateway. A forwarding header counts only when the connection comes
	// from one of them, and only the entries those proxies appended.
	// Empty means no proxy is trusted and the client is the connection's
	// peer.
	TrustedProxies []netip.Prefix
	// Header is the forwarding header the trusted proxies write:
	// HeaderXForwardedFor (the default) or HeaderForwarded (RFC 7239).
	// Only one is read, so the two cannot disagree.
	Header string
	// IPv6Prefix is the prefix length of the key of an IPv6 client, from
	// 32 to 128. Zero means DefaultIPv6Prefix.
	IPv6Prefix int
}

// ClientIPResolver finds the address of the client behind a request.
type ClientIPResolver struct {
	trusted    []netip.Prefix
	header     string
	ipv6Prefix int
}

// NewClientIPResolver validates opts and returns a resolver.
func NewClientIPResolver(opts ClientIPOptions) (*ClientIPResolver, error) {
	switch opts.Header {
	case "":
		opts.Header = HeaderXForwardedFor
	case HeaderXForwardedFor, HeaderForwarded:
	default:
		return nil, fmt.Errorf("httplimit: forwarding header %q is not supported; use %q or %q",
			opts.Header, HeaderXForwardedFor, HeaderForwarded)
	}
	if opts.IPv6Prefix == 0 {
		opts.IPv6Prefix = DefaultIPv6Prefix
	}
	if opts.IPv6Prefix < 32 || opts.IPv6Prefix > 128 {
		return nil, fmt.Errorf("httplimit: IPv6 prefix length %d is invalid; use 32 to 128", opts.IPv6Prefix)
	}
	trusted := make([]netip.Prefix, 0, len(opts.TrustedProxies))
	for _, p := range opts.TrustedProxies {
		if !p.IsValid() {
			return nil, fmt.Errorf("httplimit: trusted proxy network %q is invalid; write it as CIDR, for example 10.0.0.0/8", p)
		}
		trusted = append(trusted, p.Masked())
	}
	return &ClientIPResolver{trusted: trusted, header: opts.Header, ipv6Prefix: opts.IPv6Prefix}, nil
}

// ClientIP returns the client's address. When the connection's peer is a
// trusted proxy, it walks the forwarding header from right to left,
// skipping entries that are trusted proxies, and returns the first entry
// that is not. An entry that is not an IP address (such as "unknown")
// stops the walk, and the last trusted hop is returned, because no trusted
// proxy vouched for anything further left. It returns the zero Addr when
// RemoteAddr is not an IP address.
func (c *ClientIPResolver) ClientIP(r *http.Request) netip.Addr {
	client, ok := parseNode(r.RemoteAddr)
	if !ok || !c.isTrusted(client) {
		return client
	}
	hops := c.hops(r.Header.Values(c.header))
	for i := len(hops) - 1; i >= 0; i-- {
		addr, ok := parseNode(hops[i])
		if !ok {
			return client
		}
		client = addr
		if !c.isTrusted(addr) {
			return addr
		}
	}
	return client
}

// ClientIPString returns ClientIP as text, or "unknown" for the zero Addr.
// Its signature fits a gateway's func(*http.Request) string setting.
func (c *ClientIPResolver) ClientIPString(r *http.Request) string {
	addr := c.ClientIP(r)
	if !addr.IsValid() {
		return "unknown"
	}
	return addr.String()
}

// Subject returns the rate-limit subject of a client address: the address
// itself for IPv4, its IPv6Prefix network for IPv6, and "unknown" for the
// zero Addr.
func (c *ClientIPResolver) Subject(addr netip.Addr) string {
	switch {
	case !addr.IsValid():
		return "unknown"
	case addr.Is4():
		return addr.String()
	}
	prefix, err := addr.Prefix(c.ipv6Prefix)
	if err != nil {
		return addr.String()
	}
	return prefix.String()
}

func (c *ClientIPResolver) isTrusted(addr netip.Addr) bool {
	for _, p := range c.trusted {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// hops returns up to maxHops rightmost entries of the forwarding header's
// lines, in order.
func (c *ClientIPResolver) hops(lines []string) []string {
	var hops []string
	if c.header == HeaderForwarded {
		hops = forwardedFor(lines)
	} else {
		for _, line := range lines {
			for _, entry := range strings.Split(line, ",") {
				hops = append(hops, strings.TrimSpace(entry))
			}
		}
	}
	if len(hops) > maxHops {
		hops = hops[len(hops)-maxHops:]
	}
	return hops
}

// parseNode reads an address written as IP, IP:port, [IPv6] or
// [IPv6]:port, and returns it with any IPv4-mapped IPv6 form unmapped.
func parseNode(text string) (netip.Addr, bool) {
	if addr, err := netip.ParseAddr(text); err == nil {
		return addr.Unmap(), true
	}
	if host, _, err := net.SplitHostPort(text); err == nil {
		if addr, err := netip.ParseAddr(host); err == nil {
			return addr.Unmap(), true
		}
	}
	if strings.HasPrefix(text, "[") && strings.HasSuffix(text, "]") {
		if addr, err := netip.ParseAddr(text[1 : len(text)-1]); err == nil {
			return addr.Unmap(), true
		}
	}
	return netip.Addr{}, false
}
