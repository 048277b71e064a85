package httplimit

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

func mustResolver(t *testing.T, opts ClientIPOptions) *ClientIPResolver {
	t.Helper()
	c, err := NewClientIPResolver(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func request(remote string, header string, values ...string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = remote
	for _, v := range values {
		r.Header.Add(header, v)
	}
	return r
}

func TestClientIP(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	xff := mustResolver(t, ClientIPOptions{TrustedProxies: proxies})
	fwd := mustResolver(t, ClientIPOptions{TrustedProxies: proxies, Header: HeaderForwarded})
	none := mustResolver(t, ClientIPOptions{})
	tests := []struct {
		desc     string
		resolver *ClientIPResolver
		req      *http.Request
		want     string
	}{
		{desc: "no trusted proxy ignores header", resolver: none,
			req: request("198.51.100.9:4000", "X-Forwarded-For", "203.0.113.7"), want: "198.51.100.9"},
		{desc: "spoof from untrusted peer ignored", resolver: xff,
			req: request("198.51.100.9:4000", "X-Forwarded-For", "203.0.113.7"), want: "198.51.100.9"},
		{desc: "trusted proxy's entry", resolver: xff,
			req: request("10.0.0.1:4000", "X-Forwarded-For", "203.0.113.7"), want: "203.0.113.7"},
		{desc: "client spoof left of proxy entry", resolver: xff,
			req: request("10.0.0.1:4000", "X-Forwarded-For", "1.2.3.4, 203.0.113.7"), want: "203.0.113.7"},
		{desc: "chain of trusted proxies", resolver: xff,
			req: request("10.0.0.1:4000", "X-Forwarded-For", "198.51.100.1, 10.0.0.2"), want: "198.51.100.1"},
		{desc: "all hops trusted", resolver: xff,
			req: request("10.0.0.1:4000", "X-Forwarded-For", "10.0.0.3, 10.0.0.2"), want: "10.0.0.3"},
		{desc: "unknown entry stops at proxy", resolver: xff,
			req: request("10.0.0.1:4000", "X-Forwarded-For", "unknown"), want: "10.0.0.1"},
		{desc: "garbage behind trusted hop", resolver: xff,
			req: request("10.0.0.1:4000", "X-Forwarded-For", "1.2.3.4, garbage, 10.0.0.2"), want: "10.0.0.2"},
		{desc: "empty header", resolver: xff, req: request("10.0.0.1:4000", "X-Forwarded-For", ""), want: "10.0.0.1"},
		{desc: "no header", resolver: xff, req: request("10.0.0.1:4000", "X-Other"), want: "10.0.0.1"},
		{desc: "several header lines", resolver: xff,
			req: request("10.0.0.1:4000", "X-Forwarded-For", "1.1.1.1", "2.2.2.2"), want: "2.2.2.2"},
		{desc: "entry with port", resolver: xff,
			req: request("10.0.0.1:4000", "X-Forwarded-For", "203.0.113.7:5555"), want: "203.0.113.7"},
		{desc: "bracketed IPv6 with port", resolver: xff,
			req: request("10.0.0.1:4000", "X-Forwarded-For", "[2001:db8::1]:80"), want: "2001:db8::1"},
		{desc: "IPv6 proxy", resolver: xff,
			req: request("[fd00::1]:4000", "X-Forwarded-For", "2001:db8::5"), want: "2001:db8::5"},
		{desc: "IPv4-mapped peer", resolver: xff,
			req: request("[::ffff:10.0.0.1]:4000", "X-Forwarded-For", "203.0.113.7"), want: "203.0.113.7"},
		{desc: "forwarded header", resolver: fwd,
			req:  request("10.0.0.1:4000", "Forwarded", `for=192.0.2.60;proto=http, for="[2001:db8:cafe::17]:4711"`),
			want: "2001:db8:cafe::17"},
		{desc: "forwarded ignores xff", resolver: fwd,
			req: request("10.0.0.1:4000", "X-Forwarded-For", "203.0.113.7"), want: "10.0.0.1"},
		{desc: "forwarded unknown", resolver: fwd,
			req: request("10.0.0.1:4000", "Forwarded", "for=unknown"), want: "10.0.0.1"},
		{desc: "forwarded quoted comma", resolver: fwd,
			req: request("10.0.0.1:4000", "Forwarded", `for=203.0.113.7;by="a,b", for=10.0.0.2`), want: "203.0.113.7"},
		{desc: "forwarded case-insensitive name", resolver: fwd,
			req: request("10.0.0.1:4000", "Forwarded", "For=203.0.113.8"), want: "203.0.113.8"},
		{desc: "forwarded element without for", resolver: fwd,
			req: request("10.0.0.1:4000", "Forwarded", "for=203.0.113.7, proto=https"), want: "10.0.0.1"},
		{desc: "unparsable peer", resolver: xff, req: request("pipe", "X-Forwarded-For", "203.0.113.7"), want: "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if got := tt.resolver.ClientIPString(tt.req); got != tt.want {
				t.Fatalf("ClientIP = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestClientIPBoundsHops(t *testing.T) {
	c := mustResolver(t, ClientIPOptions{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	hops := strings.Repeat("10.0.0.9, ", 100) + "10.0.0.2"
	r := request("10.0.0.1:4000", "X-Forwarded-For", "203.0.113.7, "+hops)
	// Only the 32 rightmost entries are examined; all are trusted, so the
	// leftmost of them is the client.
	if got := c.ClientIPString(r); got != "10.0.0.9" {
		t.Fatalf("ClientIP = %q, want the leftmost examined hop 10.0.0.9", got)
	}
}

func TestClientIPSubject(t *testing.T) {
	c := mustResolver(t, ClientIPOptions{})
	c56 := mustResolver(t, ClientIPOptions{IPv6Prefix: 56})
	tests := []struct {
		desc     string
		resolver *ClientIPResolver
		addr     netip.Addr
		want     string
	}{
		{desc: "ipv4", resolver: c, addr: netip.MustParseAddr("203.0.113.7"), want: "203.0.113.7"},
		{desc: "ipv6 /64", resolver: c, addr: netip.MustParseAddr("2001:db8:1:2:3:4:5:6"), want: "2001:db8:1:2::/64"},
		{desc: "ipv6 /56", resolver: c56, addr: netip.MustParseAddr("2001:db8:1:2ff:3:4:5:6"), want: "2001:db8:1:200::/56"},
		{desc: "zero", resolver: c, addr: netip.Addr{}, want: "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if got := tt.resolver.Subject(tt.addr); got != tt.want {
				t.Fatalf("Subject(%v) = %q, want %q", tt.addr, got, tt.want)
			}
		})
	}
}

func TestNewClientIPResolverErrors(t *testing.T) {
	tests := []struct {
		desc    string
		opts    ClientIPOptions
		wantErr string
	}{
		{desc: "unknown header", opts: ClientIPOptions{Header: "X-Real-IP"}, wantErr: `"X-Real-IP" is not supported`},
		{desc: "prefix too short", opts: ClientIPOptions{IPv6Prefix: 16}, wantErr: "prefix length 16"},
		{desc: "prefix too long", opts: ClientIPOptions{IPv6Prefix: 129}, wantErr: "prefix length 129"},
		{desc: "invalid network", opts: ClientIPOptions{TrustedProxies: []netip.Prefix{{}}}, wantErr: "network"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			_, err := NewClientIPResolver(tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("NewClientIPResolver = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}
