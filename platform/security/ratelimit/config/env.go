package config

import (
	"errors"
	"fmt"
	"strings"
)

// EnvPrefix starts every environment override.
const EnvPrefix = "BULWARK_RATELIMIT_"

// envSetting is one fixed environment override: the setting's path in the
// file and the field it replaces.
type envSetting struct {
	path  string
	field func(f *file) *string
}

// fixedEnv maps the suffix of each fixed variable (after EnvPrefix) to its
// setting. The names are the file paths in upper case with dots and
// hyphens as underscores, without the "store." of the Redis settings.
var fixedEnv = map[string]envSetting{
	"HANDLER_DEFAULT":           {"handler.default", func(f *file) *string { return &f.Handler.Default }},
	"HANDLER_ANONYMOUS":         {"handler.anonymous", func(f *file) *string { return &f.Handler.Anonymous }},
	"SUBSCRIBER_DEFAULT":        {"subscriber.default", func(f *file) *string { return &f.Subscriber.Default }},
	"SUBSCRIBER_MAX_WAIT":       {"subscriber.max_wait", func(f *file) *string { return &f.Subscriber.MaxWait }},
	"CLIENT_DEFAULT":            {"client.default", func(f *file) *string { return &clientOf(f).Default }},
	"CLIENT_MAX_WAIT":           {"client.max_wait", func(f *file) *string { return &clientOf(f).MaxWait }},
	"GATEWAY_DEFAULT":           {"gateway.default", func(f *file) *string { return &f.Gateway.Default }},
	"GATEWAY_CLIENT":            {"gateway.client", func(f *file) *string { return &f.Gateway.Client }},
	"GATEWAY_IP":                {"gateway.ip", func(f *file) *string { return &f.Gateway.IP }},
	"GATEWAY_FORWARDED_HEADER":  {"gateway.forwarded_header", func(f *file) *string { return &f.Gateway.ForwardedHeader }},
	"GATEWAY_IPV6_PREFIX":       {"gateway.ipv6_prefix", func(f *file) *string { return &f.Gateway.IPv6Prefix }},
	"GATEWAY_HEADERS":           {"gateway.headers", func(f *file) *string { return &f.Gateway.Headers }},
	"GATEWAY_LOGIN_USERNAME":    {"gateway.login.username", func(f *file) *string { return &f.Gateway.Login.Username }},
	"GATEWAY_LOGIN_USERNAME_IP": {"gateway.login.username_ip", func(f *file) *string { return &f.Gateway.Login.UsernameIP }},
	"GATEWAY_LOGIN_USERNAME_FAILURES": {"gateway.login.username_failures",
		func(f *file) *string { return &f.Gateway.Login.UsernameFailures }},
	"GATEWAY_LOGIN_IP":     {"gateway.login.ip", func(f *file) *string { return &f.Gateway.Login.IP }},
	"STORE_BACKEND":        {"store.backend", func(f *file) *string { return &f.Store.Backend }},
	"STORE_MAX_KEYS":       {"store.max_keys", func(f *file) *string { return &f.Store.MaxKeys }},
	"STORE_SWEEP_INTERVAL": {"store.sweep_interval", func(f *file) *string { return &f.Store.SweepInterval }},
	"REDIS_ADDR":           {"store.redis.addr", func(f *file) *string { return &f.Store.Redis.Addr }},
	"REDIS_USERNAME":       {"store.redis.username", func(f *file) *string { return &f.Store.Redis.Username }},
	"REDIS_PASSWORD_FILE":  {"store.redis.password_file", func(f *file) *string { return &f.Store.Redis.PasswordFile }},
	"REDIS_PREFIX":         {"store.redis.prefix", func(f *file) *string { return &f.Store.Redis.Prefix }},
	"REDIS_TIMEOUT":        {"store.redis.timeout", func(f *file) *string { return &f.Store.Redis.Timeout }},
	"REDIS_ON_ERROR":       {"store.redis.on_error", func(f *file) *string { return &f.Store.Redis.OnError }},
	"REDIS_RETRY_INTERVAL": {"store.redis.retry_interval", func(f *file) *string { return &f.Store.Redis.RetryInterval }},
	"REDIS_TLS":            {"store.redis.tls", func(f *file) *string { return &f.Store.Redis.TLS }},
	"REDIS_SERVER_NAME":    {"store.redis.server_name", func(f *file) *string { return &f.Store.Redis.ServerName }},
}

// envMap is a family of variables that name an entry of a map: the
// variable's suffix after the family's prefix is the entry's name in
// EnvName form.
type envMap struct {
	prefix string
	path   string
	names  func(opts LoadOptions) []string // nil: the name is derived from the suffix
	entry  func(f *file) map[string]string
	create func(f *file)
}

var mapEnv = []envMap{
	{prefix: "HANDLER_ENDPOINT_", path: "handler.endpoints", names: func(o LoadOptions) []string { return o.Endpoints },
		entry: func(f *file) map[string]string { return f.Handler.Endpoints },
		create: func(f *file) {
			if f.Handler.Endpoints == nil {
				f.Handler.Endpoints = map[string]string{}
			}
		}},
	{prefix: "HANDLER_CALLER_", path: "handler.callers",
		entry: func(f *file) map[string]string { return f.Handler.Callers },
		create: func(f *file) {
			if f.Handler.Callers == nil {
				f.Handler.Callers = map[string]string{}
			}
		}},
	{prefix: "SUBSCRIBER_TOPIC_", path: "subscriber.topics", names: func(o LoadOptions) []string { return o.Topics },
		entry: func(f *file) map[string]string { return f.Subscriber.Topics },
		create: func(f *file) {
			if f.Subscriber.Topics == nil {
				f.Subscriber.Topics = map[string]string{}
			}
		}},
	{prefix: "GATEWAY_ROUTE_", path: "gateway.routes", names: func(o LoadOptions) []string { return o.Routes },
		entry: func(f *file) map[string]string { return f.Gateway.Routes },
		create: func(f *file) {
			if f.Gateway.Routes == nil {
				f.Gateway.Routes = map[string]string{}
			}
		}},
	{prefix: "GATEWAY_GLOBAL_ROUTE_", path: "gateway.global_routes", names: func(o LoadOptions) []string { return o.Routes },
		entry: func(f *file) map[string]string { return f.Gateway.GlobalRoutes },
		create: func(f *file) {
			if f.Gateway.GlobalRoutes == nil {
				f.Gateway.GlobalRoutes = map[string]string{}
			}
		}},
	{prefix: "CLIENT_SERVICE_", path: "client.services",
		entry: func(f *file) map[string]string { return clientOf(f).Services },
		create: func(f *file) {
			if clientOf(f).Services == nil {
				f.Client.Services = map[string]string{}
			}
		}},
}

// EnvName returns the form a name takes in an environment variable: upper
// case, with every character other than a letter or digit replaced by an
// underscore. Orders.Create becomes ORDERS_CREATE.
func EnvName(name string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9'):
			return r
		}
		return '_'
	}, name)
}

func clientOf(f *file) *clientSection {
	if f.Client == nil {
		f.Client = &clientSection{}
	}
	return f.Client
}

// applyEnv writes the overrides of environ into f and returns, for each
// setting it wrote, the variable that wrote it. A variable set to the empty
// string is ignored. An unknown BULWARK_RATELIMIT_ variable is an error, so
// a misspelt override is reported. Errors name variables, never their
// values, because a misplaced secret must not reach a log.
func applyEnv(f *file, environ []string, opts LoadOptions) (map[string]string, error) {
	sources := map[string]string{}
	var errs []error
	for _, kv := range environ {
		variable, value, _ := strings.Cut(kv, "=")
		suffix, ok := strings.CutPrefix(variable, EnvPrefix)
		if !ok || value == "" {
			continue
		}
		if setting, ok := fixedEnv[suffix]; ok {
			*setting.field(f) = value
			sources[setting.path] = variable
			continue
		}
		if suffix == "GATEWAY_TRUSTED_PROXIES" {
			f.Gateway.TrustedProxies = strings.Split(value, ",")
			for i := range f.Gateway.TrustedProxies {
				sources[fmt.Sprintf("gateway.trusted_proxies[%d]", i)] = variable
			}
			continue
		}
		if suffix == "REDIS_PASSWORD" {
			errs = append(errs, fmt.Errorf("ratelimit/config: %s is not read because secrets are passed in files; "+
				"write the password to a file readable only by the service and set %sREDIS_PASSWORD_FILE", variable, EnvPrefix))
			continue
		}
		path, err := applyMapEnv(f, suffix, value, opts)
		if err != nil {
			errs = append(errs, fmt.Errorf("ratelimit/config: %s: %w", variable, err))
			continue
		}
		sources[path] = variable
	}
	return sources, errors.Join(errs...)
}

// applyMapEnv writes one map-entry override and returns the entry's path.
func applyMapEnv(f *file, suffix, value string, opts LoadOptions) (string, error) {
	for _, m := range mapEnv {
		envName, ok := strings.CutPrefix(suffix, m.prefix)
		if !ok {
			continue
		}
		name, err := m.resolve(envName, opts)
		if err != nil {
			return "", err
		}
		m.create(f)
		m.entry(f)[name] = value
		return fmt.Sprintf("%s[%q]", m.path, name), nil
	}
	return "", fmt.Errorf("unknown variable; the variables are listed in the documentation of package config")
}

// resolve finds the name whose EnvName is envName.
func (m envMap) resolve(envName string, opts LoadOptions) (string, error) {
	if envName == "" {
		return "", errors.New("the variable names no entry")
	}
	if m.names == nil {
		// Service names are lower case with hyphens.
		return strings.ReplaceAll(strings.ToLower(envName), "_", "-"), nil
	}
	known := m.names(opts)
	var matches []string
	for _, name := range known {
		if EnvName(name) == envName {
			matches = append(matches, name)
		}
	}
	switch len(matches) {
	case 0:
		return "", fmt.Errorf("%s matches none of %v; write the name in upper case with underscores", envName, known)
	case 1:
		return matches[0], nil
	}
	return "", fmt.Errorf("%s matches several names %v; set them in the file instead", envName, matches)
}
