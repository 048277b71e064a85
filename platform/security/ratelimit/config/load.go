package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bulwark-go/bulwark/platform/security/identity"
	"github.com/bulwark-go/bulwark/platform/security/ratelimit"
	"github.com/bulwark-go/bulwark/platform/security/ratelimit/httplimit"
	"github.com/bulwark-go/bulwark/platform/security/ratelimit/redisstore"
)

// LoadOptions describe the service whose settings are loaded, so that names
// in the file can be checked against what the service really has.
type LoadOptions struct {
	// Service is the service's name, used in the default Redis key prefix.
	// Required.
	Service string
	// Endpoints are the endpoints the service registers, for example
	// "Orders.Create" (from server.Handler's Endpoints). Every endpoint
	// named in handler.endpoints and handler.pairs must be one of them.
	Endpoints []string
	// Topics are the topics the service subscribes to. When not nil,
	// every topic in subscriber.topics must be one of them.
	Topics []string
	// Routes are the gateway's route names. When not nil, every route in
	// gateway.routes must be one of them.
	Routes []string
	// Environ is the environment to read overrides from, as os.Environ
	// returns it. Nil means os.Environ().
	Environ []string
}

// Load reads the YAML file at path (empty for none), applies the
// BULWARK_RATELIMIT_ environment overrides, and validates the result. The
// error lists every invalid setting, each named by its path in the file or
// by its environment variable, with the value and the fix.
func Load(path string, opts LoadOptions) (*Settings, error) {
	settings, _, err := load(path, opts)
	return settings, err
}

// load is Load that also returns the file's bytes, for the file watcher.
func load(path string, opts LoadOptions) (*Settings, []byte, error) {
	if err := identity.ValidateName(opts.Service); err != nil {
		return nil, nil, fmt.Errorf("ratelimit/config: LoadOptions.Service: %w", err)
	}
	f, data, err := readFile(path)
	if err != nil {
		return nil, nil, err
	}
	environ := opts.Environ
	if environ == nil {
		environ = os.Environ()
	}
	sources, err := applyEnv(f, environ, opts)
	if err != nil {
		return nil, nil, err
	}
	p := &parser{file: path, sources: sources}
	settings := p.settings(f, opts)
	if len(p.errs) > 0 {
		return nil, nil, errors.Join(p.errs...)
	}
	return settings, data, nil
}

// parser converts the text settings and collects every error.
type parser struct {
	file    string
	sources map[string]string // setting path → environment variable that set it
	errs    []error
}

func (p *parser) fail(path, value string, err error) {
	where := path
	if variable, ok := p.sources[path]; ok {
		where = fmt.Sprintf("%s (from %s)", path, variable)
	} else if p.file != "" {
		where = fmt.Sprintf("%s in %s", path, p.file)
	}
	p.errs = append(p.errs, fmt.Errorf("ratelimit/config: %s = %q: %w", where, value, err))
}

func (p *parser) limit(path, text, def string) ratelimit.Limit {
	if text == "" {
		text = def
	}
	l, err := ratelimit.ParseLimit(text)
	if err != nil {
		p.fail(path, text, err)
	}
	return l
}

// optionalLimit returns the zero Limit for an empty text.
func (p *parser) optionalLimit(path, text string) ratelimit.Limit {
	if text == "" {
		return ratelimit.Limit{}
	}
	return p.limit(path, text, "")
}

func (p *parser) duration(path, text string, def time.Duration) time.Duration {
	if text == "" {
		return def
	}
	d, err := time.ParseDuration(text)
	switch {
	case err != nil:
		p.fail(path, text, errors.New("not a Go duration; write for example 500ms, 5s or 1m"))
	case d <= 0:
		p.fail(path, text, errors.New("must be positive"))
	}
	return d
}

func (p *parser) integer(path, text string, def, minimum, maximum int) int {
	if text == "" {
		return def
	}
	n, err := strconv.Atoi(text)
	if err != nil || n < minimum || n > maximum {
		p.fail(path, text, fmt.Errorf("must be an integer from %d to %d", minimum, maximum))
	}
	return n
}

// choice returns text if it is one of choices, else the first choice.
func (p *parser) choice(path, text string, choices ...string) string {
	if text == "" {
		return choices[0]
	}
	if !slices.Contains(choices, text) {
		p.fail(path, text, fmt.Errorf("use one of %s", strings.Join(choices, ", ")))
		return choices[0]
	}
	return text
}

// limits converts a map of limits, checking each name with check.
func (p *parser) limits(path string, texts map[string]string, check func(string) error) map[string]ratelimit.Limit {
	if len(texts) == 0 {
		return nil
	}
	out := make(map[string]ratelimit.Limit, len(texts))
	for _, name := range sortedKeys(texts) {
		entry := fmt.Sprintf("%s[%q]", path, name)
		if err := check(name); err != nil {
			p.fail(entry, texts[name], err)
			continue
		}
		out[name] = p.limit(entry, texts[name], "")
	}
	return out
}

func (p *parser) settings(f *file, opts LoadOptions) *Settings {
	s := &Settings{}
	endpoint := oneOf("endpoint", "registered endpoints", opts.Endpoints, true)
	caller := func(name string) error { return identity.ValidateName(name) }

	h := &s.Handler.Rules
	h.Default = p.limit("handler.default", f.Handler.Default, DefaultHandlerLimit)
	if f.Handler.Anonymous != "" && f.Handler.Anonymous != AnonymousReject {
		h.Anonymous = p.limit("handler.anonymous", f.Handler.Anonymous, "")
	}
	h.Endpoints = p.limits("handler.endpoints", f.Handler.Endpoints, endpoint)
	h.Callers = p.limits("handler.callers", f.Handler.Callers, caller)
	for _, name := range sortedKeys(f.Handler.Pairs) {
		path := fmt.Sprintf("handler.pairs[%q]", name)
		if err := endpoint(name); err != nil {
			p.fail(path, name, err)
			continue
		}
		if h.Pairs == nil {
			h.Pairs = make(map[string]map[string]ratelimit.Limit)
		}
		h.Pairs[name] = p.limits(path, f.Handler.Pairs[name], caller)
	}

	s.Subscriber.Rules.Default = p.limit("subscriber.default", f.Subscriber.Default, DefaultSubscriberLimit)
	s.Subscriber.Rules.Endpoints = p.limits("subscriber.topics", f.Subscriber.Topics,
		oneOf("topic", "subscribed topics", opts.Topics, false))
	s.Subscriber.MaxWait = p.duration("subscriber.max_wait", f.Subscriber.MaxWait, DefaultMaxWait)

	if c := f.Client; c != nil {
		s.Client = &ClientSettings{MaxWait: p.duration("client.max_wait", c.MaxWait, DefaultMaxWait)}
		s.Client.Rules.Default = p.limit("client.default", c.Default, "")
		s.Client.Rules.Callers = p.limits("client.services", c.Services, caller)
		s.Client.Rules.Endpoints = p.limits("client.endpoints", c.Endpoints, nonEmpty)
	}

	p.gateway(&s.Gateway, &f.Gateway, opts)
	p.store(&s.Store, &f.Store, opts)
	return s
}

// errLoginUsernameReplaced rejects the old per-account login limit, which
// counted every attempt from any address, so that anyone could lock an
// account's owner out with a few wrong passwords.
var errLoginUsernameReplaced = errors.New("is no longer a setting, because it counted attempts from every " +
	"address and let anyone lock the owner out; remove it and set gateway.login.username_ip (every attempt " +
	"per account and client address, default " + DefaultLoginUsernameIPLimit + ") and " +
	"gateway.login.username_failures (failed attempts per account from all addresses, default " +
	DefaultLoginUsernameFailuresLimit + ")")

func (p *parser) gateway(g *GatewaySettings, f *gatewaySection, opts LoadOptions) {
	g.Rules.Default = p.limit("gateway.default", f.Default, DefaultGatewayLimit)
	g.Rules.Callers = map[string]ratelimit.Limit{}
	if l := p.optionalLimit("gateway.client", f.Client); !l.IsZero() {
		g.Rules.Callers[ratelimit.ClassClient] = l
	}
	if l := p.optionalLimit("gateway.ip", f.IP); !l.IsZero() {
		g.Rules.Callers[ratelimit.ClassIP] = l
	}
	route := oneOf("route", "gateway routes", opts.Routes, false)
	g.Rules.Endpoints = p.limits("gateway.routes", f.Routes, route)
	for name, limit := range p.limits("gateway.global_routes", f.GlobalRoutes, route) {
		if g.Rules.Pairs == nil {
			g.Rules.Pairs = map[string]map[string]ratelimit.Limit{}
		}
		g.Rules.Pairs[name] = map[string]ratelimit.Limit{httplimit.ClassGlobal: limit}
	}
	if f.Login.Username != "" {
		p.fail("gateway.login.username", f.Login.Username, errLoginUsernameReplaced)
	}
	g.Login.UsernameIP = p.limit("gateway.login.username_ip", f.Login.UsernameIP, DefaultLoginUsernameIPLimit)
	g.Login.UsernameFailures = p.limit("gateway.login.username_failures", f.Login.UsernameFailures,
		DefaultLoginUsernameFailuresLimit)
	g.Login.IP = p.limit("gateway.login.ip", f.Login.IP, DefaultLoginIPLimit)

	for i, text := range f.TrustedProxies {
		prefix, err := netip.ParsePrefix(strings.TrimSpace(text))
		if err != nil {
			p.fail(fmt.Sprintf("gateway.trusted_proxies[%d]", i), text, errors.New("not a network in CIDR form, for example 10.0.0.0/8"))
			continue
		}
		g.ClientIP.TrustedProxies = append(g.ClientIP.TrustedProxies, prefix.Masked())
	}
	g.ClientIP.Header = p.choice("gateway.forwarded_header", f.ForwardedHeader,
		httplimit.HeaderXForwardedFor, httplimit.HeaderForwarded)
	g.ClientIP.IPv6Prefix = p.integer("gateway.ipv6_prefix", f.IPv6Prefix, httplimit.DefaultIPv6Prefix, 32, 128)
	switch p.choice("gateway.headers", f.Headers, "legacy", "ietf", "none") {
	case "ietf":
		g.Headers = httplimit.HeadersIETF
	case "none":
		g.Headers = httplimit.HeadersNone
	}
}

func (p *parser) store(s *StoreSettings, f *storeSection, opts LoadOptions) {
	s.Backend = p.choice("store.backend", f.Backend, BackendMemory, BackendRedis)
	s.Memory.MaxKeys = p.integer("store.max_keys", f.MaxKeys, ratelimit.DefaultMaxKeys, 1, 1<<30)
	s.Memory.SweepInterval = p.duration("store.sweep_interval", f.SweepInterval, ratelimit.DefaultSweepInterval)

	r, fr := &s.Redis, &f.Redis
	r.Client = redisstore.ClientOptions{Addr: fr.Addr, Username: fr.Username, PasswordFile: fr.PasswordFile}
	r.Prefix = fr.Prefix
	if r.Prefix == "" {
		r.Prefix = redisstore.DefaultPrefix + opts.Service + ":"
	}
	r.Timeout = p.duration("store.redis.timeout", fr.Timeout, DefaultRedisTimeout)
	r.RetryInterval = p.duration("store.redis.retry_interval", fr.RetryInterval, DefaultRedisRetryInterval)
	if p.choice("store.redis.on_error", fr.OnError, "open", "closed") == "closed" {
		r.OnError = redisstore.FailClosed
	}
	p.redisTLS(r, fr)
	if s.Backend == BackendRedis {
		if fr.Addr == "" {
			p.fail("store.redis.addr", fr.Addr, errors.New("is required when store.backend is redis; set host:port"))
		}
		if fr.PasswordFile == "" {
			p.fail("store.redis.password_file", fr.PasswordFile,
				errors.New("is required when store.backend is redis; set the path of a file holding the password"))
		}
	}
}

// redisTLS reads store.redis.tls and store.redis.server_name. The server
// name defaults to the host of store.redis.addr, which Redis's certificate
// must then name.
func (p *parser) redisTLS(r *RedisSettings, f *redisSection) {
	r.TLS = p.choice("store.redis.tls", f.TLS, "false", "true") == "true"
	if !r.TLS {
		if f.ServerName != "" {
			p.fail("store.redis.server_name", f.ServerName,
				errors.New("has no effect unless store.redis.tls is true; set store.redis.tls to true or remove it"))
		}
		return
	}
	if f.ServerName != "" {
		if strings.ContainsAny(f.ServerName, " \t/,") {
			p.fail("store.redis.server_name", f.ServerName,
				errors.New("is not a host name; write the DNS name or IP address that Redis's certificate carries"))
			return
		}
		r.ServerName = f.ServerName
		return
	}
	if f.Addr == "" {
		return // reported as a missing address when the backend is redis
	}
	host, _, err := net.SplitHostPort(f.Addr)
	if err != nil || host == "" {
		p.fail("store.redis.addr", f.Addr, errors.New("is not host:port, so it gives no server name for TLS; "+
			"write host:port or set store.redis.server_name"))
		return
	}
	r.ServerName = host
}

// oneOf returns a check that a name is in known. When known is nil the
// check passes, unless required, because then the caller must say which
// names exist.
func oneOf(kind, listName string, known []string, required bool) func(string) error {
	return func(name string) error {
		if known == nil {
			if required {
				return fmt.Errorf("cannot check %s %q: pass the service's %s in LoadOptions", kind, name, listName)
			}
			return nonEmpty(name)
		}
		if !slices.Contains(known, name) {
			return fmt.Errorf("%s %q is not one of the %s %v", kind, name, listName, known)
		}
		return nil
	}
}

func nonEmpty(name string) error {
	if name == "" {
		return errors.New("name is empty")
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
