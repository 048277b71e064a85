package config

import (
	"net/netip"
	"time"

	"github.com/bulwark-go/bulwark/platform/security/ratelimit"
	"github.com/bulwark-go/bulwark/platform/security/ratelimit/httplimit"
	"github.com/bulwark-go/bulwark/platform/security/ratelimit/redisstore"
)

// Defaults of settings that neither the file nor the environment sets.
//
// NOTE: the limits are starting points for a small deployment, not
// measurements; size them from the traffic each endpoint must carry.
const (
	DefaultHandlerLimit               = "100/s burst 100"
	DefaultSubscriberLimit            = "100/s burst 100"
	DefaultGatewayLimit               = "20/s burst 40"
	DefaultLoginUsernameIPLimit       = "5/m burst 5"
	DefaultLoginUsernameFailuresLimit = "30/h burst 10"
	DefaultLoginIPLimit               = "20/m burst 20"
	DefaultMaxWait                    = 5 * time.Second
	DefaultRedisTimeout               = redisstore.DefaultTimeout
	DefaultRedisRetryInterval         = redisstore.DefaultRetryInterval

	// AnonymousReject is the value of handler.anonymous that rejects calls
	// without a verified identity; it is the default.
	AnonymousReject = "reject"

	// Store backends.
	BackendMemory = "memory"
	BackendRedis  = "redis"
)

// Settings are the validated rate-limit settings of one service.
type Settings struct {
	Handler    HandlerSettings
	Subscriber SubscriberSettings
	// Client is nil unless the file has a client section or an
	// environment variable sets a client setting: pacing one's own calls
	// is opt-in.
	Client  *ClientSettings
	Gateway GatewaySettings
	Store   StoreSettings
}

// HandlerSettings limit incoming calls (microwrap.NewHandlerWrapper).
type HandlerSettings struct {
	Rules ratelimit.Rules
}

// SubscriberSettings limit incoming events (microwrap.NewSubscriberWrapper).
type SubscriberSettings struct {
	// Rules has limits by topic in Endpoints.
	Rules   ratelimit.Rules
	MaxWait time.Duration
}

// ClientSettings pace the service's own calls (microwrap.NewCallWrapper).
type ClientSettings struct {
	// Rules has limits by callee service in Callers and by callee endpoint
	// in Endpoints.
	Rules   ratelimit.Rules
	MaxWait time.Duration
}

// GatewaySettings limit HTTP requests and login attempts (httplimit).
type GatewaySettings struct {
	// Rules has the class limits in Callers (ratelimit.ClassClient and
	// ratelimit.ClassIP), route limits per client in Endpoints, and route
	// limits shared by all clients in Pairs[route][httplimit.ClassGlobal].
	Rules    ratelimit.Rules
	Login    httplimit.LoginLimits
	ClientIP httplimit.ClientIPOptions
	Headers  httplimit.HeaderStyle
}

// StoreSettings choose where budgets live.
type StoreSettings struct {
	// Backend is BackendMemory or BackendRedis.
	Backend string
	// Memory configures the in-memory store, which also serves as the
	// local store of redisstore.FailOpen.
	Memory ratelimit.MemoryOptions
	Redis  RedisSettings
}

// RedisSettings configure the Redis store when Backend is BackendRedis.
type RedisSettings struct {
	Client        redisstore.ClientOptions
	Prefix        string
	Timeout       time.Duration
	OnError       redisstore.Mode
	RetryInterval time.Duration
	// TLS makes the connection use TLS, with the base config from
	// StoreOptions.RedisTLS.
	TLS bool
	// ServerName is the name that Redis's certificate must carry when TLS
	// is true: store.redis.server_name, else the host of the address.
	ServerName string
}

// fixed returns the settings that a reload may not change, for comparison
// with reflect.DeepEqual: the service fixes them when it builds its store,
// client address resolver and wrappers.
func (s *Settings) fixed() any {
	type fixedSettings struct {
		SubscriberMaxWait time.Duration
		ClientPresent     bool
		ClientMaxWait     time.Duration
		TrustedProxies    []netip.Prefix
		Header            string
		IPv6Prefix        int
		Headers           httplimit.HeaderStyle
		Store             StoreSettings
	}
	f := fixedSettings{
		SubscriberMaxWait: s.Subscriber.MaxWait,
		ClientPresent:     s.Client != nil,
		TrustedProxies:    s.Gateway.ClientIP.TrustedProxies,
		Header:            s.Gateway.ClientIP.Header,
		IPv6Prefix:        s.Gateway.ClientIP.IPv6Prefix,
		Headers:           s.Gateway.Headers,
		Store:             s.Store,
	}
	if s.Client != nil {
		f.ClientMaxWait = s.Client.MaxWait
	}
	return f
}
