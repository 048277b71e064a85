package stack

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestWaitReadyNamesExitedComponent(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "orders.log")
	p, err := startDetached("orders", "/bin/sh", []string{"-c", "echo 'open database: permission denied' >&2; exit 3"}, nil,
		dir, logPath, filepath.Join(dir, "orders.json"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	err = waitReady(ctx, "orders", logPath, p.exited, func(context.Context) error { return errors.New("connection refused") })
	if err == nil {
		t.Fatal("waitReady succeeded for a process that exited")
	}
	for _, want := range []string{"orders exited", logPath, "permission denied"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestWaitReadyTimesOut(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "users.log")
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	err := waitReady(ctx, "users", logPath, nil, func(context.Context) error { return errors.New("/readyz returned HTTP 503") })
	if err == nil {
		t.Fatal("waitReady succeeded with a failing probe")
	}
	for _, want := range []string{"users is not ready", "HTTP 503", logPath} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestUpRedisWithoutBinaryWarns(t *testing.T) {
	root, err := FindRepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	s, err := newStack(Config{RepoRoot: root, Dir: t.TempDir(), Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	withRedis, err := s.upRedis(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	if withRedis {
		t.Error("upRedis reports Redis without a binary")
	}
	if !strings.Contains(out.String(), "WARNING") || !strings.Contains(out.String(), "in memory") {
		t.Errorf("output lacks the in-memory warning:\n%s", out.String())
	}
	for _, name := range Services {
		env := s.serviceEnv(name, false)
		if slices.ContainsFunc(env, func(v string) bool { return strings.HasPrefix(v, "BULWARK_RATELIMIT_STORE_BACKEND=") }) {
			t.Errorf("%s gets a rate-limit store backend without Redis: %q", name, env)
		}
	}
	env := s.serviceEnv("orders", true)
	for _, want := range []string{"BULWARK_RATELIMIT_STORE_BACKEND=redis", "BULWARK_RATELIMIT_REDIS_USERNAME=orders",
		"BULWARK_RATELIMIT_REDIS_PASSWORD_FILE=" + filepath.Join(s.layout.ServiceDir("orders"), "redis-password"),
		"BULWARK_RATELIMIT_REDIS_TLS=true"} {
		if !slices.Contains(env, want) {
			t.Errorf("orders environment lacks %q", want)
		}
	}
}
