package redisstore

import (
	"bytes"
	"context"
	"crypto/tls"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/bulwark-go/bulwark/internal/testenv"
	"github.com/bulwark-go/bulwark/platform/security/internal/clock"
	"github.com/bulwark-go/bulwark/platform/security/ratelimit"
)

// startRedis starts the test harness with Redis. It skips under -short and
// fails when redis-server is missing.
func startRedis(t *testing.T) *testenv.Env {
	t.Helper()
	return testenv.Start(t, testenv.Options{Redis: true})
}

// newClient returns a client that reaches the harness's Redis over TLS
// with config, logged in as the ACL user of service.
func newClient(t *testing.T, env *testenv.Env, service string, config *tls.Config) *redis.Client {
	t.Helper()
	return tlsClient(t, env.RedisAddr, env.RedisUsers[service], config)
}

// servicePrefix returns the key prefix of service followed by test, under
// which the service's Redis user may read and write.
func servicePrefix(service, test string) string {
	return DefaultPrefix + service + ":" + test + ":"
}

// syncBuffer collects log output from concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRedisIntegration(t *testing.T) {
	env := startRedis(t)
	password, err := os.ReadFile(env.RedisUsers["orders"].PasswordFile)
	if err != nil {
		t.Fatal(err)
	}
	secret := strings.TrimSpace(string(password))
	ctx := context.Background()
	service := serviceTLS(t, env, "orders")

	t.Run("two instances share one budget", func(t *testing.T) {
		// Two gateway instances, each with its own certificate, logged in
		// as the gateway's Redis user.
		a, err := New(Options{Client: newClient(t, env, "gateway", serviceTLS(t, env, "gateway")), Prefix: servicePrefix("gateway", "shared")})
		if err != nil {
			t.Fatal(err)
		}
		b, err := New(Options{Client: newClient(t, env, "gateway", serviceTLS(t, env, "gateway")), Prefix: servicePrefix("gateway", "shared")})
		if err != nil {
			t.Fatal(err)
		}
		limit := ratelimit.PerHour(6, 10) // interval 10 minutes, burst 10
		key := ratelimit.Key{Scope: "Orders.Create", Subject: "gateway"}
		admitted := 0
		for i := range 30 {
			store := a
			if i%2 == 1 {
				store = b
			}
			res, err := store.Take(ctx, key, limit, 0)
			if err != nil {
				t.Fatalf("Take %d: %v", i, err)
			}
			if res.Allowed {
				admitted++
				continue
			}
			// The burst went within milliseconds, so the next request
			// passes one interval after the first: RetryAfter is the time
			// left of that interval, neither zero nor the whole hour.
			if res.RetryAfter <= limit.Interval()-10*time.Second || res.RetryAfter > limit.Interval() {
				t.Fatalf("rejection RetryAfter = %s, want just under %s", res.RetryAfter, limit.Interval())
			}
			if res.Remaining != 0 {
				t.Fatalf("rejection Remaining = %d, want 0", res.Remaining)
			}
		}
		if admitted != limit.Burst {
			t.Fatalf("two instances admitted %d requests together, want the one burst of %d", admitted, limit.Burst)
		}
		other, err := a.Take(ctx, ratelimit.Key{Scope: "Orders.Create", Subject: "users"}, limit, 0)
		if err != nil || !other.Allowed || other.Remaining != limit.Burst-1 {
			t.Fatalf("another key = %+v, %v; want allowed with %d remaining", other, err, limit.Burst-1)
		}
	})

	t.Run("reservation waits", func(t *testing.T) {
		s, err := New(Options{Client: newClient(t, env, "orders", service), Prefix: servicePrefix("orders", "reserve")})
		if err != nil {
			t.Fatal(err)
		}
		limit := ratelimit.PerMinute(1, 1)
		key := ratelimit.Key{Scope: "order.created"}
		if r, err := s.Take(ctx, key, limit, time.Hour); err != nil || !r.Allowed || r.Delay != 0 {
			t.Fatalf("first reservation = %+v, %v", r, err)
		}
		r, err := s.Take(ctx, key, limit, time.Hour)
		if err != nil || !r.Allowed || r.Delay <= 50*time.Second || r.Delay > time.Minute {
			t.Fatalf("second reservation = %+v, %v; want allowed with a delay of about a minute", r, err)
		}
	})

	t.Run("wrong password falls back", func(t *testing.T) {
		dir := t.TempDir()
		wrong := dir + "/password"
		if err := os.WriteFile(wrong, []byte("not-the-password\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := NewClient(ClientOptions{Addr: env.RedisAddr, Username: "orders", PasswordFile: wrong, TLS: service})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		logs := &syncBuffer{}
		s, err := New(Options{Client: c, OnError: FailClosed, Logger: slog.New(slog.NewTextHandler(logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		res, err := s.Take(ctx, ratelimit.Key{Scope: "x"}, ratelimit.PerSecond(1, 1), 0)
		if err != nil || res.Allowed {
			t.Fatalf("Take with a wrong password = %+v, %v; want a closed rejection", res, err)
		}
		if !strings.Contains(logs.String(), "Redis unavailable") {
			t.Fatalf("log %q does not report the failure", logs)
		}
		if strings.Contains(logs.String(), secret) || strings.Contains(logs.String(), "not-the-password") {
			t.Fatalf("log contains a password: %q", logs)
		}
	})

	t.Run("another service's keys are rejected", func(t *testing.T) {
		// The inventory user, even with a prefix aimed at the gateway's
		// keys, cannot spend or reset the gateway's budgets: Redis rejects
		// the script with NOPERM and a closed store rejects the request.
		logs := &syncBuffer{}
		s, err := New(Options{Client: newClient(t, env, "inventory", serviceTLS(t, env, "inventory")),
			Prefix: servicePrefix("gateway", "shared"), OnError: FailClosed, Logger: slog.New(slog.NewTextHandler(logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		// A fresh key, so that only the ACL can reject the request.
		res, err := s.Take(ctx, ratelimit.Key{Scope: "Orders.Create", Subject: "acl-probe"}, ratelimit.PerHour(6, 10), 0)
		if err != nil || res.Allowed {
			t.Fatalf("Take on the gateway's key as inventory = %+v, %v; want a closed rejection", res, err)
		}
		if !strings.Contains(logs.String(), "NOPERM") {
			t.Fatalf("log %q does not report Redis's NOPERM", logs)
		}
	})

	// The fallback cases stop Redis, so they run last.
	t.Run("fallback while Redis is stopped", func(t *testing.T) {
		fake := clock.NewFake(time.Now())
		reg := prometheus.NewRegistry()
		metrics, err := ratelimit.NewMetrics(reg, "orders")
		if err != nil {
			t.Fatal(err)
		}
		logs := &syncBuffer{}
		logger := slog.New(slog.NewTextHandler(logs, nil))
		local, err := ratelimit.NewMemory[ratelimit.Key](ratelimit.MemoryOptions{Clock: fake})
		if err != nil {
			t.Fatal(err)
		}
		open, err := New(Options{Client: newClient(t, env, "orders", service), Prefix: servicePrefix("orders", "fallback"), OnError: FailOpen, Local: local,
			Clock: fake, Metrics: metrics, Logger: logger, RetryInterval: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		closed, err := New(Options{Client: newClient(t, env, "orders", service), Prefix: servicePrefix("orders", "fallback"), OnError: FailClosed,
			Clock: fake, Metrics: metrics, Logger: logger, RetryInterval: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		limit := ratelimit.PerMinute(2, 2)
		key := ratelimit.Key{Scope: "Orders.Create", Subject: "gateway"}
		for _, s := range []*Store{open, closed} {
			if r, err := s.Take(ctx, key, limit, 0); err != nil || !r.Allowed {
				t.Fatalf("Take with Redis up = %+v, %v", r, err)
			}
		}
		if n := fallbacks(t, reg, "open") + fallbacks(t, reg, "closed"); n != 0 {
			t.Fatalf("fallbacks with Redis up = %v, want 0", n)
		}

		env.StopRedis(t)

		// Fail open: the local store decides on its own budget.
		for i, want := range []bool{true, true, false} {
			r, err := open.Take(ctx, key, limit, 0)
			if err != nil {
				t.Fatalf("open Take %d: %v", i, err)
			}
			if r.Allowed != want {
				t.Fatalf("open Take %d allowed = %v, want %v (local limit of 2)", i, r.Allowed, want)
			}
		}
		if got := fallbacks(t, reg, "open"); got != 3 {
			t.Fatalf("open fallbacks = %v, want 3", got)
		}
		if local.Len() != 1 {
			t.Fatalf("local store tracks %d keys, want 1", local.Len())
		}

		// Fail closed: everything is rejected, with a positive wait.
		r, err := closed.Take(ctx, key, limit, 0)
		if err != nil || r.Allowed {
			t.Fatalf("closed Take = %+v, %v; want a rejection", r, err)
		}
		if r.RetryAfter < time.Second {
			t.Fatalf("closed RetryAfter = %s, want at least 1s", r.RetryAfter)
		}
		if got := fallbacks(t, reg, "closed"); got != 1 {
			t.Fatalf("closed fallbacks = %v, want 1", got)
		}

		// Each store logs the failure once per interval, not once per
		// request, and never with the password.
		for _, mode := range []string{"mode=open", "mode=closed"} {
			if n := strings.Count(logs.String(), mode); n != 1 {
				t.Fatalf("logged %s %d times, want 1:\n%s", mode, n, logs)
			}
		}
		if strings.Contains(logs.String(), secret) {
			t.Fatalf("log contains the Redis password:\n%s", logs)
		}

		// Back on Redis once it responds and RetryInterval has passed.
		env.StartRedis(t)
		fake.Advance(5 * time.Second)
		before := fallbacks(t, reg, "closed")
		if r, err := closed.Take(ctx, key, limit, 0); err != nil || !r.Allowed {
			t.Fatalf("closed Take after Redis returned = %+v, %v; want allowed by the empty Redis", r, err)
		}
		if got := fallbacks(t, reg, "closed"); got != before {
			t.Fatalf("closed fallbacks rose to %v after Redis returned", got)
		}
	})
}

// fallbacks returns the value of the fallback counter of mode in reg.
func fallbacks(t *testing.T, reg *prometheus.Registry, mode string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "bulwark_ratelimit_store_fallbacks_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "mode" && l.GetValue() == mode {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
