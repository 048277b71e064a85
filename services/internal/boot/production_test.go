package boot

import (
	"encoding/pem"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/platform/security/pki/pkitest"
	"github.com/bulwark-go/bulwark/services/gateway/httpapi"
)

// secretInEnv is a value that no message may contain.
const secretInEnv = "hvs.production-test-token-value"

// productionConfig writes a root CA and the given rate-limit file (none when
// empty) and returns a ProductionConfig of the gateway that production
// accepts: a public admin listener without debug handlers, the gateway's
// real routes and an environment without secrets.
func productionConfig(t *testing.T, rateLimitFile string) ProductionConfig {
	t.Helper()
	dir := t.TempDir()
	env := Env{
		VaultAddr:   "https://vault.internal:8200",
		ConsulAddr:  "consul.internal:8501",
		CAFile:      pkitest.NewCA(t).WriteRoot(t, dir),
		AdminListen: "0.0.0.0:9101",
		LogLevel:    slog.LevelInfo,
		Production:  true,
	}
	if rateLimitFile != "" {
		env.RateLimitFile = filepath.Join(dir, "ratelimit.yaml")
		if err := os.WriteFile(env.RateLimitFile, []byte(rateLimitFile), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return ProductionConfig{
		Service: "gateway",
		Env:     env,
		Options: Options{Gateway: true, Routes: httpapi.Routes()},
		Environ: []string{
			"PATH=/usr/bin",
			EnvSecretIDFile + "=/run/secrets/secret-id",
			"CONSUL_HTTP_TOKEN_FILE=/run/secrets/consul-token",
			"CONSUL_HTTP_SSL=true",
			"VAULT_ADDR=https://vault.internal:8200",
			"BULWARK_RATELIMIT_REDIS_PASSWORD_FILE=/run/secrets/redis-password",
		},
	}
}

// redisClosed is a rate-limit file with the Redis store that fails closed.
const redisClosed = `
handler:
  anonymous: reject
gateway:
  trusted_proxies: [10.0.0.0/8]
store:
  backend: redis
  redis:
    addr: 127.0.0.1:6379
    password_file: /run/secrets/redis-password
    on_error: closed
    tls: true
`

func TestCheckProductionAcceptsSafeConfig(t *testing.T) {
	for _, tt := range []struct{ desc, file string }{
		{"redis failing closed", redisClosed},
		{"memory store", "store: {backend: memory}\n"},
		{"no rate-limit file", ""},
		{"shipped gateway file", mustRead(t, filepath.Join("..", "..", "..", "infra", "ratelimit", "gateway.yaml"))},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			warnings, err := CheckProduction(productionConfig(t, tt.file))
			if err != nil {
				t.Fatalf("CheckProduction rejected a safe configuration:\n%v", err)
			}
			if len(warnings) != 0 {
				t.Errorf("warnings = %q, want none", warnings)
			}
		})
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// debugMux is a mux with a handler where net/http/pprof puts its own.
func debugMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", func(w http.ResponseWriter, r *http.Request) {})
	return mux
}

func TestCheckProductionRejects(t *testing.T) {
	tests := []struct {
		desc   string
		file   string // rate-limit file; redisClosed when empty
		change func(t *testing.T, cfg *ProductionConfig)
		// setting and fix must both appear in the error.
		setting, fix string
	}{
		{desc: "Vault token value", setting: "VAULT_TOKEN", fix: "write the secret to a file",
			change: addEnv("VAULT_TOKEN=" + secretInEnv)},
		{desc: "Consul token value", setting: "CONSUL_HTTP_TOKEN", fix: "write the secret to a file",
			change: addEnv("CONSUL_HTTP_TOKEN=" + secretInEnv)},
		{desc: "Redis password value", setting: "BULWARK_RATELIMIT_REDIS_PASSWORD", fix: "write the secret to a file",
			change: addEnv("BULWARK_RATELIMIT_REDIS_PASSWORD=" + secretInEnv)},
		{desc: "application secret value", setting: "BULWARK_OAUTH_CLIENT_SECRET", fix: "pass the file's path",
			change: addEnv("BULWARK_OAUTH_CLIENT_SECRET=" + secretInEnv)},
		{desc: "Consul basic auth value", setting: "CONSUL_HTTP_AUTH", fix: "write the secret to a file",
			change: addEnv("CONSUL_HTTP_AUTH=admin:" + secretInEnv)},
		{desc: "private key value", setting: "TLS_PRIVATE_KEY", fix: "write the secret to a file",
			change: addEnv("TLS_PRIVATE_KEY=" + secretInEnv)},
		{desc: "plaintext VAULT_ADDR", setting: "VAULT_ADDR", fix: "set an https:// URL",
			change: addEnv("VAULT_ADDR=http://vault.internal:8200")},
		{desc: "VAULT_SKIP_VERIFY", setting: "VAULT_SKIP_VERIFY", fix: "unset it",
			change: addEnv("VAULT_SKIP_VERIFY=true")},
		{desc: "plaintext CONSUL_HTTP_ADDR", setting: "CONSUL_HTTP_ADDR", fix: "HTTPS listener",
			change: addEnv("CONSUL_HTTP_ADDR=http://consul.internal:8500")},
		{desc: "CONSUL_HTTP_SSL false", setting: "CONSUL_HTTP_SSL", fix: "set it to true",
			change: addEnv("CONSUL_HTTP_SSL=false")},
		{desc: "CONSUL_HTTP_SSL_VERIFY off", setting: "CONSUL_HTTP_SSL_VERIFY", fix: "CONSUL_CACERT",
			change: addEnv("CONSUL_HTTP_SSL_VERIFY=0")},
		{desc: "CA file without certificate", setting: EnvCAFile, fix: "PEM file of the root CA",
			change: func(t *testing.T, cfg *ProductionConfig) {
				if err := os.WriteFile(cfg.Env.CAFile, []byte("not a certificate\n"), 0o600); err != nil {
					t.Fatal(err)
				}
			}},
		{desc: "leaf certificate as CA file", setting: EnvCAFile, fix: "PEM file of the root CA",
			change: func(t *testing.T, cfg *ProductionConfig) {
				leaf := pkitest.NewCA(t).Leaf(t, "users", time.Now(), time.Now().Add(time.Hour))
				writePEM(t, cfg.Env.CAFile, leaf.Certificate[0])
			}},
		{desc: "anonymous allowance in file", setting: "handler.anonymous in ", fix: "set it to reject",
			file: strings.Replace(redisClosed, "anonymous: reject", "anonymous: 10/s burst 10", 1)},
		{desc: "anonymous allowance in environment", setting: envLimitAnonymous, fix: "set it to reject",
			change: addEnv(envLimitAnonymous + "=5/s")},
		{desc: "every address trusted in file", setting: "gateway.trusted_proxies in ", fix: "list only the networks",
			file: strings.Replace(redisClosed, "[10.0.0.0/8]", "[10.0.0.0/8, 0.0.0.0/0]", 1)},
		{desc: "every address trusted in environment", setting: envLimitTrustedProxies, fix: "list only the networks",
			change: addEnv(envLimitTrustedProxies + "=10.0.0.0/8,::/0")},
		{desc: "redis on_error left out", setting: envLimitOnError, fix: "to closed",
			file: strings.Replace(redisClosed, "on_error: closed", "", 1)},
		{desc: "redis backend from environment", setting: envLimitOnError, fix: "to closed",
			file:   "store: {redis: {addr: redis.internal:6379, password_file: /run/secrets/redis-password, tls: true}}\n",
			change: addEnv(envLimitBackend + "=redis")},
		{desc: "redis beyond loopback without TLS", setting: "store.redis.tls in ", fix: envLimitRedisTLS + " to true",
			file: strings.Replace(strings.Replace(redisClosed, "127.0.0.1:6379", "redis.internal:6379", 1), "tls: true", "", 1)},
		{desc: "redis TLS off in environment", setting: envLimitRedisTLS, fix: "requires client certificates",
			file: strings.Replace(redisClosed, "127.0.0.1:6379", "10.0.0.5:6379", 1), change: addEnv(envLimitRedisTLS + "=false")},
		{desc: "redis address beyond loopback from environment", setting: "store.redis.tls in ", fix: "to true",
			file:   strings.Replace(redisClosed, "tls: true", "", 1),
			change: addEnv(envLimitRedisAddr + "=10.0.0.5:6379")},
		{desc: "go-micro profiler", setting: "MICRO_DEBUG_PROFILE", fix: "loopback-only listener",
			change: addEnv("MICRO_DEBUG_PROFILE=http")},
		{desc: "debug handler on public admin listener", setting: EnvAdminListen, fix: "bind it to 127.0.0.1",
			change: func(t *testing.T, cfg *ProductionConfig) { cfg.Admin = debugMux() }},
		{desc: "admin listener on every interface", setting: EnvAdminListen, fix: "bind it to 127.0.0.1",
			change: func(t *testing.T, cfg *ProductionConfig) {
				cfg.Admin = debugMux()
				cfg.Env.AdminListen = ":9101"
			}},
		{desc: "metrics on public listener", setting: EnvGatewayListen, fix: "remove the route from the gateway",
			change: func(t *testing.T, cfg *ProductionConfig) {
				cfg.Options.Routes = append(cfg.Options.Routes, "GET /metrics")
			}},
		{desc: "pprof on public listener", setting: EnvGatewayListen, fix: "remove the route from the gateway",
			change: func(t *testing.T, cfg *ProductionConfig) {
				cfg.Options.Routes = append(cfg.Options.Routes, "GET /debug/pprof/")
			}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			file := tt.file
			if file == "" {
				file = redisClosed
			}
			cfg := productionConfig(t, file)
			if tt.change != nil {
				tt.change(t, &cfg)
			}
			_, err := CheckProduction(cfg)
			if err == nil {
				t.Fatal("CheckProduction accepted the configuration")
			}
			msg := err.Error()
			if !strings.Contains(msg, "  "+tt.setting) {
				t.Errorf("error does not name %s:\n%s", tt.setting, msg)
			}
			if !strings.Contains(msg, tt.fix) {
				t.Errorf("error does not contain the fix %q:\n%s", tt.fix, msg)
			}
			if strings.Contains(msg, secretInEnv) {
				t.Errorf("error contains the secret value:\n%s", msg)
			}
			if n := strings.Count(msg, "\n  "); n != 1 {
				t.Errorf("error lists %d violations, want 1:\n%s", n, msg)
			}
		})
	}
}

func addEnv(kv string) func(*testing.T, *ProductionConfig) {
	return func(t *testing.T, cfg *ProductionConfig) { cfg.Environ = append(cfg.Environ, kv) }
}

func writePEM(t *testing.T, path string, der []byte) {
	t.Helper()
	block := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(path, block, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestCheckProductionListsEveryViolation(t *testing.T) {
	cfg := productionConfig(t, strings.Replace(redisClosed, "on_error: closed", "", 1))
	cfg.Environ = append(cfg.Environ, "VAULT_TOKEN="+secretInEnv, "CONSUL_HTTP_SSL=false")
	cfg.Environ = append(cfg.Environ, "MICRO_DEBUG_PROFILE=http")
	_, err := CheckProduction(cfg)
	if err == nil {
		t.Fatal("CheckProduction accepted four violations")
	}
	t.Logf("the error reads:\n%v", err)
	for _, setting := range []string{"VAULT_TOKEN", "CONSUL_HTTP_SSL", envLimitOnError, "MICRO_DEBUG_PROFILE"} {
		if !strings.Contains(err.Error(), "  "+setting+":") {
			t.Errorf("error does not list %s:\n%v", setting, err)
		}
	}
}

func TestCheckProductionWarnings(t *testing.T) {
	tests := []struct {
		desc, file string
		change     func(*ProductionConfig)
		want       string
	}{
		{"redis failing open", strings.Replace(redisClosed, "on_error: closed", "on_error: open", 1), nil,
			"store.redis.on_error in "},
		{"redis failing open from environment", redisClosed,
			func(cfg *ProductionConfig) { cfg.Environ = append(cfg.Environ, envLimitOnError+"=open") }, envLimitOnError},
		{"Redis on loopback without TLS", strings.Replace(redisClosed, "tls: true", "", 1), nil,
			"store.redis.addr in "},
		{"Redis on localhost without TLS from environment", strings.Replace(redisClosed, "tls: true", "", 1),
			func(cfg *ProductionConfig) { cfg.Environ = append(cfg.Environ, envLimitRedisAddr+"=localhost:6379") },
			envLimitRedisAddr},
		{"Redis beyond loopback with TLS", strings.Replace(redisClosed, "127.0.0.1:6379", "redis.internal:6379", 1), nil, ""},
		{"Redis TLS from environment", strings.Replace(redisClosed, "tls: true", "", 1),
			func(cfg *ProductionConfig) {
				cfg.Environ = append(cfg.Environ, envLimitRedisAddr+"=10.0.0.5:6379", envLimitRedisTLS+"=true")
			}, ""},
		{"debug log level", redisClosed, func(cfg *ProductionConfig) { cfg.Env.LogLevel = slog.LevelDebug }, EnvLogLevel},
		{"debug handler on loopback admin listener", redisClosed, func(cfg *ProductionConfig) {
			cfg.Admin = debugMux()
			cfg.Env.AdminListen = "127.0.0.1:9101"
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			cfg := productionConfig(t, tt.file)
			if tt.change != nil {
				tt.change(&cfg)
			}
			warnings, err := CheckProduction(cfg)
			if err != nil {
				t.Fatalf("CheckProduction rejected the configuration:\n%v", err)
			}
			if tt.want == "" {
				if len(warnings) != 0 {
					t.Errorf("warnings = %q, want none", warnings)
				}
				return
			}
			if len(warnings) != 1 || !strings.Contains(warnings[0], tt.want) {
				t.Errorf("warnings = %q, want one naming %s", warnings, tt.want)
			}
		})
	}
}

// TestClearDefaultServeMux checks that the production profile removes the
// debug handlers that this package's dependencies register on
// http.DefaultServeMux, which every http.Server with a nil Handler serves.
func TestClearDefaultServeMux(t *testing.T) {
	saved := http.DefaultServeMux
	t.Cleanup(func() { http.DefaultServeMux = saved })

	before := servedPaths(http.DefaultServeMux, debugPaths)
	if !slices.Contains(before, "/debug/pprof/") {
		t.Fatalf("http.DefaultServeMux serves %q before; the test expects the pprof handlers that go-micro "+
			"links in", before)
	}
	cleared := clearDefaultServeMux()
	if !slices.Equal(cleared, before) {
		t.Errorf("clearDefaultServeMux returned %q, want %q", cleared, before)
	}
	if after := servedPaths(http.DefaultServeMux, debugPaths); len(after) != 0 {
		t.Errorf("http.DefaultServeMux still serves %q", after)
	}

	// A server without its own Handler serves the replaced mux.
	srv := httptest.NewServer(nil)
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /debug/pprof/ on a server with a nil Handler = %d, want 404", resp.StatusCode)
	}
}

func TestIsSecretName(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"VAULT_TOKEN", true},
		{"CONSUL_HTTP_TOKEN", true},
		{"BULWARK_RATELIMIT_REDIS_PASSWORD", true},
		{"BULWARK_SIGNING_SECRET", true},
		{"BULWARK_SECRET_KEY", true},
		{"STRIPE_API_KEY", true},
		{"AWS_SECRET_ACCESS_KEY", true},
		{"REDISCLI_AUTH", true},
		{"github_token", true},
		{"BULWARK_SECRET_ID_FILE", false},
		{"CONSUL_HTTP_TOKEN_FILE", false},
		{"BULWARK_RATELIMIT_REDIS_PASSWORD_FILE", false},
		{"VAULT_TOKEN_PATH", false},
		{"BULWARK_VAULT_ADDR", false},
		{"KEYBOARD", false},
		{"TOKENIZER_MODEL", false},
		{"PATH", false},
	}
	for _, tt := range tests {
		if got := isSecretName(tt.name); got != tt.want {
			t.Errorf("isSecretName(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestLoadEnvProfile(t *testing.T) {
	for _, tt := range []struct {
		value      string
		production bool
	}{{"", false}, {ProfileDevelopment, false}, {ProfileProduction, true}} {
		m := validEnv(t)
		m[EnvProfile] = tt.value
		env, err := LoadEnv(getenv(m), Options{})
		if err != nil {
			t.Fatalf("LoadEnv with %s=%q: %v", EnvProfile, tt.value, err)
		}
		if env.Production != tt.production {
			t.Errorf("%s=%q: Production = %v, want %v", EnvProfile, tt.value, env.Production, tt.production)
		}
	}

	m := validEnv(t)
	m[EnvProfile] = "prod"
	_, err := LoadEnv(getenv(m), Options{})
	if err == nil {
		t.Fatalf("LoadEnv accepted %s=prod", EnvProfile)
	}
	for _, want := range []string{EnvProfile, `"prod"`, ProfileDevelopment, ProfileProduction} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not contain %q:\n%v", want, err)
		}
	}
}

func TestCheckCertificateTTL(t *testing.T) {
	ca := pkitest.NewCA(t)
	now := time.Now()
	tests := []struct {
		desc     string
		notAfter time.Duration
		ok       bool
	}{
		{"one hour", time.Hour, true},
		{"exactly 24 hours", 24 * time.Hour, true},
		{"25 hours", 25 * time.Hour, false},
		{"one year", 365 * 24 * time.Hour, false},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			leaf := ca.Leaf(t, "orders", now.Add(-30*time.Second), now.Add(tt.notAfter)).Leaf
			err := CheckCertificateTTL("orders", leaf, now)
			if tt.ok {
				if err != nil {
					t.Errorf("CheckCertificateTTL: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("CheckCertificateTTL accepted the certificate")
			}
			for _, want := range []string{"pki_int/roles/orders", "-cert-ttl", "24h0m0s", "serial"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error does not contain %q:\n%v", want, err)
				}
			}
		})
	}
}
