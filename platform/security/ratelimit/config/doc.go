// Package config loads a service's rate limits from a YAML file and
// BULWARK_RATELIMIT_ environment variables, validates them at start, and
// reloads them without a restart.
//
// Threat: a limit that is silently wrong protects nothing. Load therefore
// fails on a misspelt setting, an endpoint name that matches no endpoint, a
// negative rate or a burst of zero. Its error names each invalid setting
// (by its path in the file, or by its variable) with the value, and lists
// every such error at once. A reload that fails the same checks keeps the
// current limits.
//
// The old setting gateway.login.username (and its variable) is rejected
// with an error that names its replacements: it counted every attempt on an
// account from any address, so a few wrong passwords from anywhere locked
// the owner out.
//
// # File
//
// Every section and setting is optional; missing ones take the Default
// constants. Limits are written as in ratelimit.ParseLimit, for example
// "100/s burst 20". See testdata/ratelimit.yaml for every setting.
//
//	handler:                       # microwrap.NewHandlerWrapper
//	  default: 100/s burst 100
//	  anonymous: reject            # or a limit shared by all unidentified callers
//	  endpoints: {Orders.Create: 10/s burst 5}      # must be registered endpoints
//	  callers: {gateway: 1000/s burst 200}          # service names
//	  pairs: {Orders.Create: {gateway: 50/s burst 20}}
//	subscriber:                    # microwrap.NewSubscriberWrapper
//	  default: 100/s burst 100
//	  max_wait: 5s
//	  topics: {order.created: 50/s burst 10}
//	client:                        # microwrap.NewCallWrapper; absent means no pacing
//	  default: 200/s burst 200
//	  max_wait: 5s
//	  services: {inventory: 50/s burst 10}
//	  endpoints: {Inventory.Reserve: 20/s burst 5}
//	gateway:                       # httplimit
//	  default: 20/s burst 40       # both classes unless client or ip is set
//	  client: 50/s burst 100       # per authenticated client
//	  ip: 10/s burst 20            # per client address
//	  routes: {"POST /v1/orders": 5/s burst 10}   # per client, on that route
//	  global_routes: {"POST /v1/users": 8/s burst 16}  # all clients together
//	  trusted_proxies: [10.0.0.0/8]
//	  forwarded_header: X-Forwarded-For   # or Forwarded
//	  ipv6_prefix: 64
//	  headers: legacy              # legacy, ietf or none
//	  login:
//	    username_ip: 5/m burst 5        # every attempt per account and client address
//	    username_failures: 30/h burst 10  # failed attempts per account, all addresses
//	    ip: 20/m burst 20               # every attempt per client address
//	store:
//	  backend: memory              # or redis
//	  max_keys: 1048576
//	  sweep_interval: 1m
//	  redis:
//	    addr: redis:6379
//	    username: orders
//	    password_file: /run/secrets/redis-password
//	    prefix: "bulwark:ratelimit:orders:"   # default uses LoadOptions.Service
//	    timeout: 100ms
//	    on_error: open             # open: local limits; closed: reject
//	    retry_interval: 1s
//	    tls: true                  # default false; needs StoreOptions.RedisTLS
//	    server_name: redis         # default: the host of addr
//
// # Environment
//
// A variable overrides the setting of the same path: the path in upper
// case, dots as underscores, prefixed by BULWARK_RATELIMIT_, with the
// Redis settings under REDIS_ rather than STORE_REDIS_. Empty variables are
// ignored, and unknown BULWARK_RATELIMIT_ variables are errors.
//
//	BULWARK_RATELIMIT_HANDLER_DEFAULT            handler.default
//	BULWARK_RATELIMIT_HANDLER_ANONYMOUS          handler.anonymous
//	BULWARK_RATELIMIT_HANDLER_ENDPOINT_<NAME>    handler.endpoints[name], NAME = EnvName(endpoint)
//	BULWARK_RATELIMIT_HANDLER_CALLER_<NAME>      handler.callers[name], NAME = service name, - as _
//	BULWARK_RATELIMIT_SUBSCRIBER_DEFAULT         subscriber.default
//	BULWARK_RATELIMIT_SUBSCRIBER_MAX_WAIT        subscriber.max_wait
//	BULWARK_RATELIMIT_SUBSCRIBER_TOPIC_<NAME>    subscriber.topics[name], NAME = EnvName(topic)
//	BULWARK_RATELIMIT_CLIENT_DEFAULT             client.default
//	BULWARK_RATELIMIT_CLIENT_MAX_WAIT            client.max_wait
//	BULWARK_RATELIMIT_CLIENT_SERVICE_<NAME>      client.services[name]
//	BULWARK_RATELIMIT_GATEWAY_DEFAULT            gateway.default
//	BULWARK_RATELIMIT_GATEWAY_CLIENT             gateway.client
//	BULWARK_RATELIMIT_GATEWAY_IP                 gateway.ip
//	BULWARK_RATELIMIT_GATEWAY_ROUTE_<NAME>       gateway.routes[name], NAME = EnvName(route)
//	BULWARK_RATELIMIT_GATEWAY_GLOBAL_ROUTE_<NAME>  gateway.global_routes[name]
//	BULWARK_RATELIMIT_GATEWAY_TRUSTED_PROXIES    gateway.trusted_proxies, comma-separated
//	BULWARK_RATELIMIT_GATEWAY_FORWARDED_HEADER   gateway.forwarded_header
//	BULWARK_RATELIMIT_GATEWAY_IPV6_PREFIX        gateway.ipv6_prefix
//	BULWARK_RATELIMIT_GATEWAY_HEADERS            gateway.headers
//	BULWARK_RATELIMIT_GATEWAY_LOGIN_USERNAME_IP  gateway.login.username_ip
//	BULWARK_RATELIMIT_GATEWAY_LOGIN_USERNAME_FAILURES  gateway.login.username_failures
//	BULWARK_RATELIMIT_GATEWAY_LOGIN_IP           gateway.login.ip
//	BULWARK_RATELIMIT_STORE_BACKEND              store.backend
//	BULWARK_RATELIMIT_STORE_MAX_KEYS             store.max_keys
//	BULWARK_RATELIMIT_STORE_SWEEP_INTERVAL       store.sweep_interval
//	BULWARK_RATELIMIT_REDIS_ADDR                 store.redis.addr
//	BULWARK_RATELIMIT_REDIS_USERNAME             store.redis.username
//	BULWARK_RATELIMIT_REDIS_PASSWORD_FILE        store.redis.password_file
//	BULWARK_RATELIMIT_REDIS_PREFIX               store.redis.prefix
//	BULWARK_RATELIMIT_REDIS_TIMEOUT              store.redis.timeout
//	BULWARK_RATELIMIT_REDIS_ON_ERROR             store.redis.on_error
//	BULWARK_RATELIMIT_REDIS_RETRY_INTERVAL       store.redis.retry_interval
//	BULWARK_RATELIMIT_REDIS_TLS                  store.redis.tls
//	BULWARK_RATELIMIT_REDIS_SERVER_NAME          store.redis.server_name
//
// There is no BULWARK_RATELIMIT_REDIS_PASSWORD: secrets reach a process as
// files, and setting that variable is an error that does not echo it.
//
// # Reload
//
// A Reloader holds the current settings. Hook Reloader.WatchSignals to
// SIGHUP, or run Reloader.WatchFile, and give the wrappers its methods
// (HandlerRules, SubscriberRules, ClientRules, GatewayRules, LoginLimits):
// they read the limits on every request, so a reload applies at once and
// budgets already spent are kept. Settings fixed when the service builds
// its components (the store section, subscriber.max_wait, the client
// section's presence and max_wait, and the gateway's client address and
// header options) cannot change by reload; a reload that changes them is
// rejected and asks for a restart.
package config
