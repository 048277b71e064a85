package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunUsageErrors(t *testing.T) {
	tests := []struct {
		desc    string
		args    []string
		wantErr string
	}{
		{"no arguments", nil, "usage: bulwark COMMAND"},
		{"unknown command", []string{"deploy", "certs"}, `unknown command "deploy"`},
		{"bootstrap without phase", []string{"bootstrap"}, "usage: bulwark bootstrap"},
		{"verify without check", []string{"verify"}, "usage: bulwark verify"},
		{"unknown check", []string{"verify", "everything"}, `unknown verify check "everything"`},
		{"unknown phase", []string{"bootstrap", "all"}, `unknown bootstrap phase "all"`},
		{"unknown flag", []string{"bootstrap", "certs", "-nope"}, "flag provided but not defined: -nope"},
		{"stray argument", []string{"bootstrap", "certs", "-state", "/tmp/x", "extra"}, `unexpected argument "extra"`},
		{"bad log format", []string{"bootstrap", "certs", "-log-format", "xml"}, `-log-format "xml" is invalid`},
		{"bad host", []string{"bootstrap", "certs", "-consul-host", "a b"}, `host name "a b" is not a single DNS name`},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, &stdout, &stderr)
			if code != 2 {
				t.Errorf("exit code = %d, want 2", code)
			}
			if !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr.String(), tt.wantErr)
			}
		})
	}
}

func TestRunCertsTwice(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state")
	args := []string{"bootstrap", "certs", "-state", state, "-consul-host", "consul.example", "-vault-host", "vault.example"}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), args, &stdout, &stderr); code != 0 {
		t.Fatalf("first run: exit code %d\nstderr: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "root-ca") || !strings.Contains(stdout.String(), "created") {
		t.Errorf("first run report lacks created objects:\n%s", stdout.String())
	}
	stdout.Reset()
	stderr.Reset()
	if code := run(context.Background(), args, &stdout, &stderr); code != 0 {
		t.Fatalf("second run: exit code %d\nstderr: %s", code, stderr.String())
	}
	if !strings.HasSuffix(stdout.String(), "certs: no changes\n") {
		t.Errorf("second run report:\n%s", stdout.String())
	}
	gossip, err := os.ReadFile(filepath.Join(state, "consul", "gossip.key"))
	if err != nil {
		t.Fatal(err)
	}
	if key := strings.TrimSpace(string(gossip)); strings.Contains(stdout.String()+stderr.String(), key) {
		t.Error("output contains the gossip key")
	}
}

func TestRunConfigureFailureExitCode(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state")
	var stdout, stderr bytes.Buffer
	// No certs phase ran, so configure must fail at its first step and
	// name the fix.
	code := run(context.Background(), []string{"bootstrap", "configure", "-state", state, "-infra", "../../infra",
		"-consul-https-port", "1", "-vault-listen", "127.0.0.1:1"}, &stdout, &stderr)
	if code != 1 {
		t.Fatalf("exit code = %d, want 1\nstderr: %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "run `bulwark bootstrap certs` first") {
		t.Errorf("stderr does not name the fix:\n%s", stderr.String())
	}
}
