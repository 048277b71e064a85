package redisstore

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/bulwark-go/bulwark/platform/security/internal/clock"
	"github.com/bulwark-go/bulwark/platform/security/ratelimit"
)

func TestRedisKeyHasNoCollisions(t *testing.T) {
	a := redisKey("p:", "a:b", "c")
	b := redisKey("p:", "a", "b:c")
	if a == b {
		t.Fatalf("keys of (a:b, c) and (a, b:c) are both %q", a)
	}
	if got, want := redisKey("p:", "Orders.Create", "gateway"), "p:13:Orders.Create:gateway"; got != want {
		t.Fatalf("redisKey = %q, want %q", got, want)
	}
}

func TestReadPasswordFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		return path
	}
	tests := []struct {
		desc    string
		path    string
		want    string
		wantErr string
	}{
		{desc: "no file", path: "", want: ""},
		{desc: "first line", path: write("ok", "s3cret\nignored\n", 0o600), want: "s3cret"},
		{desc: "crlf", path: write("crlf", "s3cret\r\n", 0o400), want: "s3cret"},
		{desc: "readable by group", path: write("group", "s3cret\n", 0o640), wantErr: "mode 0640"},
		{desc: "readable by all", path: write("world", "s3cret\n", 0o644), wantErr: "chmod 600"},
		{desc: "empty", path: write("empty", "\n", 0o600), wantErr: "is empty"},
		{desc: "missing", path: filepath.Join(dir, "missing"), wantErr: "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got, err := readPasswordFile(tt.path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("readPasswordFile = %v, want an error containing %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "s3cret") {
					t.Fatalf("error %q contains the password", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("readPasswordFile = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestNewClientNeedsAddress(t *testing.T) {
	if _, err := NewClient(ClientOptions{}); err == nil || !strings.Contains(err.Error(), "address is empty") {
		t.Fatalf("NewClient without an address = %v", err)
	}
}

func TestNewOptionErrors(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer client.Close()
	tests := []struct {
		desc    string
		opts    Options
		wantErr string
	}{
		{desc: "no client", opts: Options{}, wantErr: "Client is nil"},
		{desc: "bad mode", opts: Options{Client: client, OnError: 5}, wantErr: "OnError 5"},
		{desc: "negative timeout", opts: Options{Client: client, Timeout: -1}, wantErr: "Timeout -1ns"},
		{desc: "negative retry", opts: Options{Client: client, RetryInterval: -1}, wantErr: "RetryInterval -1ns"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if _, err := New(tt.opts); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestTakeRejectsInvalidLimit(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer client.Close()
	s, err := New(Options{Client: client})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Take(context.Background(), ratelimit.Key{}, ratelimit.Limit{}, 0); err == nil {
		t.Fatal("Take with the zero limit returned no error")
	}
}

// TestUnreachableRedisFallsBack points a store at a closed loopback port:
// connecting fails at once, and the store decides locally.
func TestUnreachableRedisFallsBack(t *testing.T) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := listener.Addr().String()
	listener.Close()
	client, err := NewClient(ClientOptions{Addr: addr, DialTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	s, err := New(Options{Client: client})
	if err != nil {
		t.Fatal(err)
	}
	limit := ratelimit.PerMinute(1, 1)
	key := ratelimit.Key{Scope: "e", Subject: "s"}
	first, err := s.Take(context.Background(), key, limit, 0)
	if err != nil || !first.Allowed {
		t.Fatalf("first Take = %+v, %v; want allowed by the local store", first, err)
	}
	second, err := s.Take(context.Background(), key, limit, 0)
	if err != nil || second.Allowed {
		t.Fatalf("second Take = %+v, %v; want rejected by the local store", second, err)
	}
}

// TestFallbackLogThrottled sends many decisions to an unreachable Redis and
// checks that every one is counted while the failure is logged once per
// LogInterval, with the number of lines held back.
func TestFallbackLogThrottled(t *testing.T) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := listener.Addr().String()
	listener.Close()
	client, err := NewClient(ClientOptions{Addr: addr, DialTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()

	fake := clock.NewFake(time.Now())
	reg := prometheus.NewRegistry()
	metrics, err := ratelimit.NewMetrics(reg, "orders")
	if err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	s, err := New(Options{Client: client, OnError: FailClosed, Clock: fake, Metrics: metrics,
		Logger: slog.New(slog.NewTextHandler(&logs, nil)), RetryInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	limit := ratelimit.PerMinute(10, 10)
	key := ratelimit.Key{Scope: "Orders.Create", Subject: "gateway"}
	take := func(n int) {
		for range n {
			r, err := s.Take(context.Background(), key, limit, 0)
			if err != nil || r.Allowed {
				t.Fatalf("Take with Redis unreachable = %+v, %v; want a rejection (fail closed)", r, err)
			}
		}
	}

	take(50)
	if n := strings.Count(logs.String(), "Redis unavailable"); n != 1 {
		t.Fatalf("logged the failure %d times in one interval, want 1:\n%s", n, logs.String())
	}
	if got := counterValue(t, reg, "bulwark_ratelimit_store_fallbacks_total"); got != 50 {
		t.Fatalf("fallback counter = %v, want 50", got)
	}

	fake.Advance(LogInterval)
	take(1)
	if n := strings.Count(logs.String(), "Redis unavailable"); n != 2 {
		t.Fatalf("logged the failure %d times after LogInterval, want 2:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "suppressed=49") {
		t.Fatalf("second line does not report the 49 lines held back:\n%s", logs.String())
	}
	if got := counterValue(t, reg, "bulwark_ratelimit_store_fallbacks_total"); got != 51 {
		t.Fatalf("fallback counter = %v, want 51", got)
	}
}

// counterValue returns the sum of the counter's series in reg.
func counterValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, f := range families {
		if f.GetName() == name {
			for _, m := range f.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

func TestModeString(t *testing.T) {
	if FailOpen.String() != "open" || FailClosed.String() != "closed" {
		t.Fatalf("modes print as %q and %q", FailOpen, FailClosed)
	}
}

func TestCeilMicros(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want int64
	}{{time.Nanosecond, 1}, {time.Microsecond, 1}, {1001 * time.Nanosecond, 2}, {time.Second, 1_000_000}} {
		if got := ceilMicros(tt.d); got != tt.want {
			t.Fatalf("ceilMicros(%s) = %d, want %d", tt.d, got, tt.want)
		}
	}
}
