package verify

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/bulwark-go/bulwark/platform/security/vaultclient"
)

// Bounds of the burst: at most maxBurst requests within burstWindow, from
// one client address, to the stack's own gateway.
const (
	maxBurst    = 60
	burstWindow = 10 * time.Second
)

// burstPath is a public endpoint of the gateway. Its per-address limit
// applies before routing and authentication.
const burstPath = "/v1/products"

// composeGatewayPort is the gateway's port inside its container, which
// docker-compose.yml publishes on loopback.
const composeGatewayPort = "8443"

// client is one source of gateway requests.
type client struct {
	name string // for evidence, e.g. "127.0.0.2"
	http *http.Client
	url  string // gateway base URL this client uses
}

// gatewayClient returns an HTTPS client for the gateway that connects from
// source (any local address when invalid) to dial, and verifies the
// gateway's certificate for the host of BULWARK_GATEWAY_URL.
func (t *target) gatewayClient(source netip.Addr, dial string) (*http.Client, error) {
	roots, err := vaultclient.LoadCAFile(t.env.GatewayCAFile)
	if err != nil {
		return nil, err
	}
	host, _, _ := net.SplitHostPort(t.gatewayAddr)
	dialer := &net.Dialer{Timeout: t.timeout}
	if source.IsValid() {
		dialer.LocalAddr = &net.TCPAddr{IP: source.AsSlice()}
	}
	return &http.Client{
		Timeout:       t.timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{
			Proxy:           nil,
			TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: host, MinVersion: tls.VersionTLS12},
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return dialer.DialContext(ctx, network, dial)
			},
			MaxIdleConnsPerHost: 1,
		},
	}, nil
}

// clients returns the two gateway clients with distinct source addresses.
//
// Native stack: the gateway listens on loopback and trusts no proxy, so the
// clients connect from 127.0.0.1 and 127.0.0.2, two addresses of the
// loopback interface.
//
// Compose stack: every connection to the published port reaches the
// gateway from the same address (Docker's proxy on the edge network), so
// 127.0.0.2 would share the first client's key. The second client
// connects to the gateway's address on the stack's private subnet, from
// the Consul catalog, so the gateway receives the connection from the
// host's address on that network instead.
func (t *target) clients(ctx context.Context, instances []instance) (first, second client, err error) {
	firstHTTP, err := t.gatewayClient(netip.MustParseAddr("127.0.0.1"), t.gatewayAddr)
	if err != nil {
		return client{}, client{}, err
	}
	first = client{name: "127.0.0.1", http: firstHTTP, url: "https://" + t.gatewayAddr}
	if !t.scope.subnet.IsValid() {
		secondHTTP, err := t.gatewayClient(netip.MustParseAddr("127.0.0.2"), t.gatewayAddr)
		if err != nil {
			return client{}, client{}, err
		}
		return first, client{name: "127.0.0.2", http: secondHTTP, url: "https://" + t.gatewayAddr}, nil
	}

	var host string
	for _, inst := range instances {
		if inst.service == "gateway" {
			host, _, _ = net.SplitHostPort(inst.address)
			break
		}
	}
	if host == "" {
		return client{}, client{}, fmt.Errorf("the gateway is not in the Consul catalog, so its private address is unknown")
	}
	_, urlPort, _ := net.SplitHostPort(t.gatewayAddr)
	for _, port := range []string{urlPort, composeGatewayPort} {
		addr := net.JoinHostPort(host, port)
		if err := t.scope.check("gateway", addr); err != nil {
			return client{}, client{}, err
		}
		conn, err := (&net.Dialer{Timeout: t.timeout}).DialContext(ctx, "tcp", addr)
		if err != nil {
			continue
		}
		_ = conn.Close()
		secondHTTP, err := t.gatewayClient(netip.Addr{}, addr)
		if err != nil {
			return client{}, client{}, err
		}
		return first, client{name: "private " + addr, http: secondHTTP, url: "https://" + t.gatewayAddr}, nil
	}
	return client{}, client{}, fmt.Errorf("the gateway does not listen at %s on port %s or %s", host, urlPort, composeGatewayPort)
}

// checkLimits sends a bounded burst from one client until the gateway
// returns 429, checks Retry-After, and then checks that a second client
// is still served.
func (t *target) checkLimits(ctx context.Context, instances []instance) []Result {
	const group = "limits"
	first, second, err := t.clients(ctx, instances)
	if err != nil {
		return []Result{fail(group, "two gateway clients", t.errText(err))}
	}
	defer first.http.CloseIdleConnections()
	defer second.http.CloseIdleConnections()

	burst := t.burst(ctx, first)
	results := []Result{burst.result()}
	if !burst.limited {
		return append(results, fail(group, "second client served during the limit",
			"not checked: the first client was never limited"))
	}
	status, _, err := send(ctx, second, t.timeout)
	check := "second client served during the limit (" + second.name + ")"
	switch {
	case err != nil:
		results = append(results, fail(group, check, "request failed: "+t.errText(err)))
	case status == http.StatusTooManyRequests:
		results = append(results, fail(group, check, "HTTP 429: the limit is shared by every client, not kept per client"))
	default:
		results = append(results, pass(group, check, fmt.Sprintf("HTTP %d", status)))
	}
	return results
}

// burstOutcome is the result of one burst.
type burstOutcome struct {
	client     string
	sent       int
	limited    bool
	retryAfter string
	err        error
	elapsed    time.Duration
}

func (b burstOutcome) result() Result {
	check := "burst from one client gets 429 with Retry-After (" + b.client + ")"
	switch {
	case b.err != nil:
		return fail("limits", check, fmt.Sprintf("request %d failed: %v", b.sent, b.err))
	case !b.limited:
		return fail("limits", check, fmt.Sprintf("%d requests in %s, none got 429", b.sent, b.elapsed.Round(time.Millisecond)))
	}
	seconds, err := strconv.Atoi(b.retryAfter)
	if err != nil || seconds <= 0 {
		return fail("limits", check, fmt.Sprintf("429 after %d requests, but Retry-After is %q, not a positive number of seconds", b.sent, b.retryAfter))
	}
	return pass("limits", check, fmt.Sprintf("429 after %d requests in %s, Retry-After: %s", b.sent,
		b.elapsed.Round(time.Millisecond), b.retryAfter))
}

// burst sends at most maxBurst requests within burstWindow and stops at the
// first 429.
func (t *target) burst(ctx context.Context, c client) burstOutcome {
	out := burstOutcome{client: c.name}
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, burstWindow)
	defer cancel()
	for out.sent < maxBurst && ctx.Err() == nil {
		out.sent++
		status, header, err := send(ctx, c, t.timeout)
		if err != nil {
			out.err = err
			break
		}
		if status == http.StatusTooManyRequests {
			out.limited = true
			out.retryAfter = header.Get("Retry-After")
			break
		}
	}
	out.elapsed = time.Since(start)
	return out
}

// send sends one GET of burstPath and returns the status and headers.
func send(ctx context.Context, c client, timeout time.Duration) (int, http.Header, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url+burstPath, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, resp.Header, nil
}
