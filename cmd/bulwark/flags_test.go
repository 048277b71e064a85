package main

import (
	"io"
	"slices"
	"strings"
	"testing"
)

func TestParseFlagsRedisHosts(t *testing.T) {
	args := []string{"-state", t.TempDir(), "-redis-host", "redis", "-redis-host", "172.30.53.12"}
	cfg, _, err := parseFlags("certs", args, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"redis", "172.30.53.12"}; !slices.Equal(cfg.RedisHosts, want) {
		t.Errorf("RedisHosts = %q, want %q", cfg.RedisHosts, want)
	}

	_, _, err = parseFlags("certs", []string{"-redis-host", "redis,cache"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), `"redis,cache" is not a single DNS name`) {
		t.Errorf("parseFlags with two names in one -redis-host = %v, want an error naming the value", err)
	}
}
