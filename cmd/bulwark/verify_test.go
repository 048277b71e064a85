package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestVerifyUsageErrors(t *testing.T) {
	tests := []struct {
		desc string
		args []string
		want string
	}{
		{"unknown check", []string{"verify", "-env", "/dev/null", "tls"}, `unknown verify check "tls"`},
		{"flag after check", []string{"verify", "vault", "-json"}, "put flags before the check names"},
		{"zero timeout", []string{"verify", "-timeout", "0s"}, "must be positive"},
		{"missing env file", []string{"verify", "-env", "/nonexistent/env"}, "read the env file"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, &stdout, &stderr)
			if code != 2 {
				t.Errorf("exit code = %d, want 2 (stderr: %s)", code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("stderr %q does not contain %q", stderr.String(), tt.want)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout = %q, want nothing", stdout.String())
			}
		})
	}
}

func TestVerifyIncompleteEnvFile(t *testing.T) {
	env := filepath.Join(t.TempDir(), "env")
	if err := os.WriteFile(env, []byte("export CONSUL_HTTP_ADDR='127.0.0.1:8501'\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"verify", "-env", env}, &stdout, &stderr); code != 2 {
		t.Errorf("exit code = %d, want 2 (stderr: %s)", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "missing BULWARK_GATEWAY_CACERT") {
		t.Errorf("stderr %q does not name the missing variables", stderr.String())
	}
}

func TestVerifyRefusesOutsideAddress(t *testing.T) {
	text := `export BULWARK_GATEWAY_URL='https://127.0.0.1:8443'
export BULWARK_GATEWAY_CACERT='/x/ca.pem'
export BULWARK_STATE_DIR='/x/state'
export CONSUL_HTTP_ADDR='127.0.0.1:8501'
export CONSUL_CACERT='/x/ca.pem'
export CONSUL_CLIENT_CERT='/x/client.pem'
export CONSUL_CLIENT_KEY='/x/client-key.pem'
export CONSUL_HTTP_TOKEN_FILE='/x/consul.token'
export VAULT_ADDR='https://192.0.2.10:8200'
export VAULT_CACERT='/x/ca.pem'
export BULWARK_VAULT_TOKEN_FILE='/x/vault.token'
`
	env := filepath.Join(t.TempDir(), "env")
	if err := os.WriteFile(env, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"verify", "-env", env, "vault"}, &stdout, &stderr); code != 2 {
		t.Errorf("exit code = %d, want 2 (stderr: %s)", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "refusing to send traffic") || !strings.Contains(stderr.String(), "192.0.2.10:8200") {
		t.Errorf("stderr %q does not name the refused address", stderr.String())
	}
}

func TestVerifyUsageLists(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"verify", "-h"}, &stdout, &stderr); code != 2 {
		t.Errorf("exit code = %d, want 2", code)
	}
	for _, want := range []string{"registry", "mtls", "certs", "limits", "vault", "-json", "-env", "-timeout"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("usage does not mention %s", want)
		}
	}
}
