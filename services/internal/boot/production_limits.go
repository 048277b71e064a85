package boot

import (
	"fmt"
	"net/netip"
	"os"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/bulwark-go/bulwark/platform/security/ratelimit/config"
)

// Environment overrides of the rate-limit settings that production checks.
const (
	envLimitBackend        = config.EnvPrefix + "STORE_BACKEND"
	envLimitOnError        = config.EnvPrefix + "REDIS_ON_ERROR"
	envLimitRedisAddr      = config.EnvPrefix + "REDIS_ADDR"
	envLimitRedisTLS       = config.EnvPrefix + "REDIS_TLS"
	envLimitAnonymous      = config.EnvPrefix + "HANDLER_ANONYMOUS"
	envLimitTrustedProxies = config.EnvPrefix + "GATEWAY_TRUSTED_PROXIES"
)

// limitFile holds the settings of a rate-limit file that production
// checks. The file is read as written, before defaults apply, because a
// Redis on_error that the file leaves out takes the default open, and
// production requires the choice to be written down. Full validation
// happens later in Service.Limits, against the registered endpoints.
type limitFile struct {
	Handler struct {
		Anonymous string `yaml:"anonymous"`
	} `yaml:"handler"`
	Gateway struct {
		TrustedProxies []string `yaml:"trusted_proxies"`
	} `yaml:"gateway"`
	Store struct {
		Backend string `yaml:"backend"`
		Redis   struct {
			Addr    string `yaml:"addr"`
			OnError string `yaml:"on_error"`
			TLS     string `yaml:"tls"`
		} `yaml:"redis"`
	} `yaml:"store"`
}

// limitSetting is one setting with the place it came from, for messages.
type limitSetting struct {
	value string
	where string // "handler.anonymous in FILE" or the variable's name
}

// effective returns the environment override if set, else the file's value.
func effective(environ []string, variable, fileValue, path, file string) limitSetting {
	if value, ok := envValue(environ, variable); ok {
		return limitSetting{value: strings.TrimSpace(value), where: variable}
	}
	if file == "" {
		return limitSetting{value: fileValue, where: path}
	}
	return limitSetting{value: fileValue, where: fmt.Sprintf("%s in %s", path, file)}
}

// checkRateLimits rejects the rate-limit settings that switch a limit off
// or leave it to a default that fails open:
//
//   - handler.anonymous set to a limit, which admits calls that carry no
//     verified identity;
//   - a gateway.trusted_proxies entry of length 0 (0.0.0.0/0 or ::/0),
//     which trusts a forwarded header from every client, so each client
//     picks the address its per-address limits count against;
//   - the redis store without an explicit store.redis.on_error. An explicit
//     open is accepted with a warning: while Redis is unreachable each
//     replica then enforces its own in-memory budgets.
//
// The redis store without store.redis.tls set to true is rejected when its
// address is not loopback, because the Redis password and the budgets
// would cross the network in plaintext. On loopback it is accepted with a
// warning.
//
// gateway.headers none only hides the rate-limit response headers and is
// accepted. No limit can be switched off otherwise, because every limit
// must parse to a positive rate and burst.
func checkRateLimits(c *productionCheck, cfg ProductionConfig) {
	var f limitFile
	file := cfg.Env.RateLimitFile
	if file != "" && readable(file) {
		data, err := os.ReadFile(file)
		if err == nil {
			err = yaml.Unmarshal(data, &f)
		}
		if err != nil {
			c.reject(EnvRateLimitFile, fmt.Sprintf("the rate-limit file %q cannot be read (%v)", file, err),
				"fix the file; see the package documentation of platform/security/ratelimit/config")
			return
		}
	}
	env := cfg.Environ

	anonymous := effective(env, envLimitAnonymous, f.Handler.Anonymous, "handler.anonymous", file)
	if anonymous.value != "" && anonymous.value != config.AnonymousReject {
		c.reject(anonymous.where, "gives calls without a verified service identity a budget",
			"set it to reject or remove it")
	}

	if cfg.Options.Gateway {
		proxies := effective(env, envLimitTrustedProxies, "", "gateway.trusted_proxies", file)
		list := f.Gateway.TrustedProxies
		if proxies.value != "" {
			list = strings.Split(proxies.value, ",")
		}
		for _, text := range list {
			prefix, err := netip.ParsePrefix(strings.TrimSpace(text))
			if err == nil && prefix.Bits() == 0 {
				c.reject(proxies.where, fmt.Sprintf("trusts forwarded headers from every address (%s), so every "+
					"client chooses the address that its limits count against", prefix),
					"list only the networks of your load balancers or proxies")
			}
		}
	}

	backend := effective(env, envLimitBackend, f.Store.Backend, "store.backend", file)
	if backend.value != config.BackendRedis {
		return
	}
	checkRedisTLS(c, env, f, file)

	onError := effective(env, envLimitOnError, f.Store.Redis.OnError, "store.redis.on_error", file)
	switch onError.value {
	case "":
		c.reject(envLimitOnError, "the redis store is configured but store.redis.on_error is not set, so a "+
			"Redis outage would fall back to per-replica limits (open) without anyone having chosen that",
			"set store.redis.on_error in the file or "+envLimitOnError+" to closed (reject requests while "+
				"Redis is unreachable) or open (accept the per-replica fallback, which the service logs as a warning)")
	case "open":
		c.warn("%s is open: while Redis is unreachable each replica enforces its own in-memory budgets, so "+
			"N replicas admit up to N times each limit", onError.where)
	}
}

// checkRedisTLS rejects a Redis store reached in plaintext beyond loopback
// and warns about one on loopback. The services read the same settings
// through platform/security/ratelimit/config, which rejects a store.redis.tls
// other than true or false when the limits load.
func checkRedisTLS(c *productionCheck, env []string, f limitFile, file string) {
	tlsSetting := effective(env, envLimitRedisTLS, f.Store.Redis.TLS, "store.redis.tls", file)
	if tlsSetting.value == "true" {
		return
	}
	addr := effective(env, envLimitRedisAddr, f.Store.Redis.Addr, "store.redis.addr", file)
	if addr.value == "" {
		return // the limits fail to load without an address
	}
	if !isLoopbackListen(addr.value) {
		c.reject(tlsSetting.where, fmt.Sprintf("is not true while %s is %q, so the Redis password and the "+
			"budgets would cross the network in plaintext", addr.where, addr.value),
			"give Redis a TLS port that requires client certificates from the stack's root CA and set "+
				"store.redis.tls in the file or "+envLimitRedisTLS+" to true")
		return
	}
	c.warn("%s is %q without TLS (%s is not true): any process on the host that can read loopback "+
		"traffic sees the Redis password; set %s to true to encrypt it", addr.where, addr.value,
		tlsSetting.where, envLimitRedisTLS)
}
