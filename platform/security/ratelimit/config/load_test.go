package config

import (
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/platform/security/ratelimit"
	"github.com/bulwark-go/bulwark/platform/security/ratelimit/httplimit"
	"github.com/bulwark-go/bulwark/platform/security/ratelimit/redisstore"
)

var testEndpoints = []string{"Orders.Create", "Orders.Get"}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ratelimit.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func loadOpts(env ...string) LoadOptions {
	return LoadOptions{Service: "orders", Endpoints: testEndpoints, Topics: []string{"order.created"},
		Routes: []string{"POST /v1/orders"}, Environ: env}
}

func mustLimit(t *testing.T, text string) ratelimit.Limit {
	t.Helper()
	l, err := ratelimit.ParseLimit(text)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestLoadDefaults(t *testing.T) {
	s, err := Load("", loadOpts())
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		desc string
		got  any
		want any
	}{
		{"handler default", s.Handler.Rules.Default, mustLimit(t, DefaultHandlerLimit)},
		{"anonymous rejected", s.Handler.Rules.Anonymous.IsZero(), true},
		{"subscriber default", s.Subscriber.Rules.Default, mustLimit(t, DefaultSubscriberLimit)},
		{"subscriber max wait", s.Subscriber.MaxWait, DefaultMaxWait},
		{"no client pacing", s.Client == nil, true},
		{"gateway default", s.Gateway.Rules.Default, mustLimit(t, DefaultGatewayLimit)},
		{"login username_ip", s.Gateway.Login.UsernameIP, mustLimit(t, DefaultLoginUsernameIPLimit)},
		{"login username_failures", s.Gateway.Login.UsernameFailures, mustLimit(t, DefaultLoginUsernameFailuresLimit)},
		{"login ip", s.Gateway.Login.IP, mustLimit(t, DefaultLoginIPLimit)},
		{"forwarded header", s.Gateway.ClientIP.Header, httplimit.HeaderXForwardedFor},
		{"ipv6 prefix", s.Gateway.ClientIP.IPv6Prefix, httplimit.DefaultIPv6Prefix},
		{"no trusted proxies", len(s.Gateway.ClientIP.TrustedProxies), 0},
		{"headers", s.Gateway.Headers, httplimit.HeadersLegacy},
		{"backend", s.Store.Backend, BackendMemory},
		{"max keys", s.Store.Memory.MaxKeys, ratelimit.DefaultMaxKeys},
		{"redis prefix", s.Store.Redis.Prefix, "bulwark:ratelimit:orders:"},
		{"redis on error", s.Store.Redis.OnError, redisstore.FailOpen},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.desc, c.got, c.want)
		}
	}
}

const fullFile = `
handler:
  default: 100/s burst 50
  anonymous: 1/s burst 1
  endpoints:
    Orders.Create: 10/s burst 5
  callers:
    gateway: 1000/s burst 200
  pairs:
    Orders.Create:
      gateway: 50/s burst 20
subscriber:
  default: 20/s burst 10
  max_wait: 2s
  topics:
    order.created: 5/s burst 5
client:
  default: 200/s burst 200
  max_wait: 1s
  services:
    inventory: 50/s burst 10
  endpoints:
    Inventory.Reserve: 20/s burst 5
gateway:
  default: 30/s burst 60
  client: 50/s burst 100
  ip: 10/s burst 20
  routes:
    POST /v1/orders: 2/s burst 4
  global_routes:
    POST /v1/orders: 6/s burst 12
  trusted_proxies: [10.0.0.0/8, "fd00::/8"]
  forwarded_header: Forwarded
  ipv6_prefix: 56
  headers: ietf
  login:
    username_ip: 3/m burst 3
    username_failures: 20/h burst 6
    ip: 10/m burst 10
store:
  backend: redis
  max_keys: 5000
  sweep_interval: 30s
  redis:
    addr: 127.0.0.1:7000
    username: orders
    password_file: /run/secrets/redis
    prefix: "rl:orders:"
    timeout: 50ms
    on_error: closed
    retry_interval: 2s
    tls: true
    server_name: redis.internal.example
`

func TestLoadFullFile(t *testing.T) {
	s, err := Load(writeFile(t, fullFile), loadOpts())
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		desc string
		got  any
		want any
	}{
		{"handler default", s.Handler.Rules.Default, ratelimit.PerSecond(100, 50)},
		{"anonymous", s.Handler.Rules.Anonymous, ratelimit.PerSecond(1, 1)},
		{"endpoint", s.Handler.Rules.Endpoints["Orders.Create"], ratelimit.PerSecond(10, 5)},
		{"caller", s.Handler.Rules.Callers["gateway"], ratelimit.PerSecond(1000, 200)},
		{"pair", s.Handler.Rules.Pairs["Orders.Create"]["gateway"], ratelimit.PerSecond(50, 20)},
		{"subscriber topic", s.Subscriber.Rules.Endpoints["order.created"], ratelimit.PerSecond(5, 5)},
		{"subscriber wait", s.Subscriber.MaxWait, 2 * time.Second},
		{"client default", s.Client.Rules.Default, ratelimit.PerSecond(200, 200)},
		{"client service", s.Client.Rules.Callers["inventory"], ratelimit.PerSecond(50, 10)},
		{"client endpoint", s.Client.Rules.Endpoints["Inventory.Reserve"], ratelimit.PerSecond(20, 5)},
		{"client wait", s.Client.MaxWait, time.Second},
		{"gateway client", s.Gateway.Rules.Callers[ratelimit.ClassClient], ratelimit.PerSecond(50, 100)},
		{"gateway ip", s.Gateway.Rules.Callers[ratelimit.ClassIP], ratelimit.PerSecond(10, 20)},
		{"gateway route", s.Gateway.Rules.Endpoints["POST /v1/orders"], ratelimit.PerSecond(2, 4)},
		{"gateway global route", s.Gateway.Rules.Pairs["POST /v1/orders"],
			map[string]ratelimit.Limit{httplimit.ClassGlobal: ratelimit.PerSecond(6, 12)}},
		{"proxies", s.Gateway.ClientIP.TrustedProxies,
			[]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}},
		{"forwarded", s.Gateway.ClientIP.Header, httplimit.HeaderForwarded},
		{"ipv6 prefix", s.Gateway.ClientIP.IPv6Prefix, 56},
		{"headers", s.Gateway.Headers, httplimit.HeadersIETF},
		{"login", s.Gateway.Login, httplimit.LoginLimits{
			UsernameIP:       ratelimit.PerMinute(3, 3),
			UsernameFailures: ratelimit.PerHour(20, 6),
			IP:               ratelimit.PerMinute(10, 10),
		}},
		{"backend", s.Store.Backend, BackendRedis},
		{"max keys", s.Store.Memory.MaxKeys, 5000},
		{"sweep", s.Store.Memory.SweepInterval, 30 * time.Second},
		{"redis client", s.Store.Redis.Client,
			redisstore.ClientOptions{Addr: "127.0.0.1:7000", Username: "orders", PasswordFile: "/run/secrets/redis"}},
		{"redis prefix", s.Store.Redis.Prefix, "rl:orders:"},
		{"redis timeout", s.Store.Redis.Timeout, 50 * time.Millisecond},
		{"redis mode", s.Store.Redis.OnError, redisstore.FailClosed},
		{"redis retry", s.Store.Redis.RetryInterval, 2 * time.Second},
		{"redis tls", s.Store.Redis.TLS, true},
		{"redis server name", s.Store.Redis.ServerName, "redis.internal.example"},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.desc, c.got, c.want)
		}
	}
	if err := s.Handler.Rules.Validate(testEndpoints); err != nil {
		t.Fatalf("loaded handler rules fail Validate: %v", err)
	}
}

// TestLoadRejectsInvalidSettings checks that each invalid input fails with
// an error naming the setting (or variable) and the value.
func TestLoadRejectsInvalidSettings(t *testing.T) {
	tests := []struct {
		desc     string
		file     string
		env      []string
		opts     func(*LoadOptions)
		wantErrs []string
	}{
		{desc: "negative rate", file: "handler:\n  default: -5/s burst 1\n",
			wantErrs: []string{"handler.default in ", `"-5/s burst 1"`, "rate -5"}},
		{desc: "burst zero", file: "handler:\n  endpoints:\n    Orders.Get: 5/s burst 0\n",
			wantErrs: []string{`handler.endpoints["Orders.Get"]`, "burst 0", "from 1 to"}},
		{desc: "unparsable period", file: "subscriber:\n  default: 5/fortnight\n",
			wantErrs: []string{"subscriber.default", `period "fortnight"`}},
		{desc: "unparsable duration", file: "subscriber:\n  max_wait: soon\n",
			wantErrs: []string{"subscriber.max_wait", `"soon"`, "Go duration"}},
		{desc: "negative duration", file: "store:\n  sweep_interval: -1m\n",
			wantErrs: []string{"store.sweep_interval", `"-1m"`, "positive"}},
		{desc: "unknown endpoint", file: "handler:\n  endpoints:\n    Orders.Delete: 1/s\n",
			wantErrs: []string{`handler.endpoints["Orders.Delete"]`, `endpoint "Orders.Delete" is not one of`, "Orders.Create"}},
		{desc: "unknown pair endpoint", file: "handler:\n  pairs:\n    Orders.Drop:\n      gateway: 1/s\n",
			wantErrs: []string{`handler.pairs["Orders.Drop"]`, "not one of"}},
		{desc: "endpoints without list", file: "handler:\n  endpoints:\n    Orders.Get: 1/s\n",
			opts: func(o *LoadOptions) { o.Endpoints = nil }, wantErrs: []string{"pass the service's registered endpoints"}},
		{desc: "bad caller name", file: "handler:\n  callers:\n    Gate_Way: 1/s\n",
			wantErrs: []string{`handler.callers["Gate_Way"]`, "lowercase"}},
		{desc: "unknown topic", file: "subscriber:\n  topics:\n    order.deleted: 1/s\n",
			wantErrs: []string{`subscriber.topics["order.deleted"]`, "not one of"}},
		{desc: "unknown route", file: "gateway:\n  routes:\n    GET /admin: 1/s\n", wantErrs: []string{`gateway.routes["GET /admin"]`}},
		{desc: "unknown global route", file: "gateway:\n  global_routes:\n    GET /admin: 1/s\n",
			wantErrs: []string{`gateway.global_routes["GET /admin"]`, "not one of"}},
		{desc: "bad global route limit", file: "gateway:\n  global_routes:\n    POST /v1/orders: 1/s burst 0\n",
			wantErrs: []string{`gateway.global_routes["POST /v1/orders"]`, "burst 0"}},
		{desc: "client without default", file: "client:\n  max_wait: 1s\n", wantErrs: []string{"client.default", "RATE/PERIOD"}},
		{desc: "misspelt setting", file: "handler:\n  defualt: 1/s\n", wantErrs: []string{"field defualt not found"}},
		{desc: "bad proxy", file: "gateway:\n  trusted_proxies: [10.0.0.1]\n",
			wantErrs: []string{"gateway.trusted_proxies[0]", `"10.0.0.1"`, "CIDR"}},
		{desc: "bad ipv6 prefix", file: "gateway:\n  ipv6_prefix: 8\n", wantErrs: []string{"gateway.ipv6_prefix", "32 to 128"}},
		{desc: "bad header", file: "gateway:\n  forwarded_header: X-Real-IP\n", wantErrs: []string{"gateway.forwarded_header", "X-Forwarded-For"}},
		{desc: "bad header style", file: "gateway:\n  headers: fancy\n", wantErrs: []string{"gateway.headers", "legacy, ietf, none"}},
		{desc: "bad backend", file: "store:\n  backend: etcd\n", wantErrs: []string{"store.backend", `"etcd"`}},
		{desc: "redis without address", file: "store:\n  backend: redis\n",
			wantErrs: []string{"store.redis.addr", "store.redis.password_file"}},
		{desc: "bad on_error", file: "store:\n  redis:\n    on_error: maybe\n", wantErrs: []string{"store.redis.on_error", "open, closed"}},
		{desc: "bad redis tls", file: "store:\n  redis:\n    tls: yes please\n",
			wantErrs: []string{"store.redis.tls", `"yes please"`, "false, true"}},
		{desc: "server name without tls", file: "store:\n  redis:\n    server_name: redis\n",
			wantErrs: []string{"store.redis.server_name", `"redis"`, "store.redis.tls is true"}},
		{desc: "bad server name", env: []string{"BULWARK_RATELIMIT_REDIS_TLS=true", "BULWARK_RATELIMIT_REDIS_SERVER_NAME=redis/x"},
			wantErrs: []string{"store.redis.server_name (from BULWARK_RATELIMIT_REDIS_SERVER_NAME)", `"redis/x"`, "not a host name"}},
		{desc: "tls address without port", file: "store:\n  redis:\n    addr: redis\n    tls: true\n",
			wantErrs: []string{"store.redis.addr", `"redis"`, "server_name"}},
		{desc: "max keys zero", file: "store:\n  max_keys: 0\n", wantErrs: []string{"store.max_keys", "from 1"}},
		{desc: "several errors at once", file: "handler:\n  default: 0/s\nsubscriber:\n  max_wait: x\n",
			wantErrs: []string{"handler.default", "subscriber.max_wait"}},
		{desc: "env invalid limit", env: []string{"BULWARK_RATELIMIT_HANDLER_DEFAULT=10/s burst 0"},
			wantErrs: []string{"handler.default (from BULWARK_RATELIMIT_HANDLER_DEFAULT)", "burst 0"}},
		{desc: "env unknown variable", env: []string{"BULWARK_RATELIMIT_HANDLER_DEFUALT=1/s"},
			wantErrs: []string{"BULWARK_RATELIMIT_HANDLER_DEFUALT", "unknown variable"}},
		{desc: "env unknown endpoint", env: []string{"BULWARK_RATELIMIT_HANDLER_ENDPOINT_ORDERS_DELETE=1/s"},
			wantErrs: []string{"ORDERS_DELETE matches none"}},
		{desc: "old login username", file: "gateway:\n  login:\n    username: 5/m burst 5\n",
			wantErrs: []string{"gateway.login.username in ", "no longer a setting", "gateway.login.username_ip",
				"gateway.login.username_failures"}},
		{desc: "env old login username", env: []string{"BULWARK_RATELIMIT_GATEWAY_LOGIN_USERNAME=5/m"},
			wantErrs: []string{"gateway.login.username (from BULWARK_RATELIMIT_GATEWAY_LOGIN_USERNAME)", "no longer a setting"}},
		{desc: "bad login failures", file: "gateway:\n  login:\n    username_failures: 30/h burst 0\n",
			wantErrs: []string{"gateway.login.username_failures", "burst 0"}},
		{desc: "env bad login pair", env: []string{"BULWARK_RATELIMIT_GATEWAY_LOGIN_USERNAME_IP=five"},
			wantErrs: []string{"gateway.login.username_ip (from BULWARK_RATELIMIT_GATEWAY_LOGIN_USERNAME_IP)", `"five"`}},
		{desc: "env missing service", opts: func(o *LoadOptions) { o.Service = "" }, wantErrs: []string{"LoadOptions.Service"}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			opts := loadOpts(tt.env...)
			if tt.opts != nil {
				tt.opts(&opts)
			}
			path := ""
			if tt.file != "" {
				path = writeFile(t, tt.file)
			}
			_, err := Load(path, opts)
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			for _, want := range tt.wantErrs {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

func TestLoadPasswordVariableRejectedWithoutValue(t *testing.T) {
	_, err := Load("", loadOpts("BULWARK_RATELIMIT_REDIS_PASSWORD=hunter2-secret"))
	if err == nil || !strings.Contains(err.Error(), "REDIS_PASSWORD_FILE") {
		t.Fatalf("Load = %v, want an error pointing to REDIS_PASSWORD_FILE", err)
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("error %q contains the secret", err)
	}
	_, err = Load("", loadOpts("BULWARK_RATELIMIT_MYSTERY=hunter2-secret"))
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("unknown variable error %q contains its value", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "missing.yaml"), loadOpts())
	if err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Fatalf("Load of a missing file = %v, want an error naming it", err)
	}
}

func TestEnvOverrides(t *testing.T) {
	path := writeFile(t, "handler:\n  default: 1/s\n  endpoints:\n    Orders.Get: 2/s\n")
	s, err := Load(path, loadOpts(
		"BULWARK_RATELIMIT_HANDLER_DEFAULT=7/s burst 3",
		"BULWARK_RATELIMIT_HANDLER_ENDPOINT_ORDERS_CREATE=4/m burst 2",
		"BULWARK_RATELIMIT_HANDLER_CALLER_ORDER_SYNC=9/h burst 1",
		"BULWARK_RATELIMIT_SUBSCRIBER_TOPIC_ORDER_CREATED=3/s burst 3",
		"BULWARK_RATELIMIT_GATEWAY_ROUTE_POST__V1_ORDERS=1/s burst 1",
		"BULWARK_RATELIMIT_GATEWAY_GLOBAL_ROUTE_POST__V1_ORDERS=3/s burst 3",
		"BULWARK_RATELIMIT_GATEWAY_TRUSTED_PROXIES=10.0.0.0/8, 192.168.0.0/16",
		"BULWARK_RATELIMIT_CLIENT_DEFAULT=100/s",
		"BULWARK_RATELIMIT_CLIENT_SERVICE_INVENTORY=10/s",
		"BULWARK_RATELIMIT_STORE_BACKEND=redis",
		"BULWARK_RATELIMIT_REDIS_ADDR=127.0.0.1:7001",
		"BULWARK_RATELIMIT_REDIS_PASSWORD_FILE=/run/secrets/redis",
		"BULWARK_RATELIMIT_REDIS_ON_ERROR=closed",
		"BULWARK_RATELIMIT_REDIS_TLS=true",
		"BULWARK_RATELIMIT_GATEWAY_IP=",
		"BULWARK_RATELIMIT_GATEWAY_LOGIN_USERNAME_IP=4/m burst 4",
		"BULWARK_RATELIMIT_GATEWAY_LOGIN_USERNAME_FAILURES=10/h burst 5",
		"OTHER_VARIABLE=ignored",
	))
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		desc string
		got  any
		want any
	}{
		{"default overridden", s.Handler.Rules.Default, ratelimit.PerSecond(7, 3)},
		{"file endpoint kept", s.Handler.Rules.Endpoints["Orders.Get"], ratelimit.PerSecond(2, 2)},
		{"env endpoint", s.Handler.Rules.Endpoints["Orders.Create"], ratelimit.PerMinute(4, 2)},
		{"env caller", s.Handler.Rules.Callers["order-sync"], ratelimit.PerHour(9, 1)},
		{"env topic", s.Subscriber.Rules.Endpoints["order.created"], ratelimit.PerSecond(3, 3)},
		{"env route", s.Gateway.Rules.Endpoints["POST /v1/orders"], ratelimit.PerSecond(1, 1)},
		{"env global route", s.Gateway.Rules.Pairs["POST /v1/orders"][httplimit.ClassGlobal], ratelimit.PerSecond(3, 3)},
		{"env proxies", s.Gateway.ClientIP.TrustedProxies,
			[]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.0.0/16")}},
		{"env client", s.Client != nil && s.Client.Rules.Callers["inventory"] == ratelimit.PerSecond(10, 10), true},
		{"env backend", s.Store.Backend, BackendRedis},
		{"env redis addr", s.Store.Redis.Client.Addr, "127.0.0.1:7001"},
		{"env mode", s.Store.Redis.OnError, redisstore.FailClosed},
		{"env redis tls", s.Store.Redis.TLS, true},
		{"server name from addr", s.Store.Redis.ServerName, "127.0.0.1"},
		{"empty variable ignored", len(s.Gateway.Rules.Callers), 0},
		{"env login pair", s.Gateway.Login.UsernameIP, ratelimit.PerMinute(4, 4)},
		{"env login failures", s.Gateway.Login.UsernameFailures, ratelimit.PerHour(10, 5)},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.desc, c.got, c.want)
		}
	}
}

func TestEnvName(t *testing.T) {
	for name, want := range map[string]string{
		"Orders.Create":   "ORDERS_CREATE",
		"order.created":   "ORDER_CREATED",
		"POST /v1/orders": "POST__V1_ORDERS",
		"order-sync":      "ORDER_SYNC",
	} {
		if got := EnvName(name); got != want {
			t.Errorf("EnvName(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestEnvAmbiguousName(t *testing.T) {
	opts := loadOpts("BULWARK_RATELIMIT_HANDLER_ENDPOINT_A_B=1/s")
	opts.Endpoints = []string{"A.B", "A-B"}
	_, err := Load("", opts)
	if err == nil || !strings.Contains(err.Error(), "several names") {
		t.Fatalf("Load = %v, want an ambiguity error", err)
	}
}
