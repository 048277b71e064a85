package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNewUsageErrors(t *testing.T) {
	repo := t.TempDir()
	tests := []struct {
		desc    string
		args    []string
		wantErr string
	}{
		{"no kind", []string{"new"}, "usage: bulwark new service NAME"},
		{"unknown kind", []string{"new", "job", "x"}, "usage: bulwark new service NAME"},
		{"no name", []string{"new", "service", "-repo", repo}, "missing service NAME"},
		{"two names", []string{"new", "service", "a", "b", "-repo", repo}, "one service NAME expected"},
		{"unknown flag", []string{"new", "service", "a", "-nope"}, "flag provided but not defined: -nope"},
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

// newRepo copies the files that bulwark new service reads into a
// temporary repository.
func newRepo(t *testing.T) string {
	t.Helper()
	repo := t.TempDir()
	for _, rel := range []string{"go.mod", "infra/services.yaml", "infra/authz.yaml", "docker-compose.yml"} {
		data, err := os.ReadFile(filepath.Join("..", "..", rel))
		if err != nil {
			t.Fatal(err)
		}
		target := filepath.Join(repo, rel)
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(target, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return repo
}

func TestNewServiceCommand(t *testing.T) {
	repo := newRepo(t)
	var stdout, stderr bytes.Buffer
	// The flags may follow the name.
	code := run(context.Background(), []string{"new", "service", "scaffoldcheck", "-repo", repo}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit code = %d, stderr:\n%s", code, stderr.String())
	}
	for _, want := range []string{"services/scaffoldcheck/main.go", "infra/authz.yaml", "Scaffoldcheck.Ping: [gateway]", "make up"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, stdout.String())
		}
	}

	stdout.Reset()
	stderr.Reset()
	code = run(context.Background(), []string{"new", "service", "-repo", repo, "scaffoldcheck"}, &stdout, &stderr)
	if code != 1 {
		t.Errorf("second run: exit code = %d, want 1", code)
	}
	if !strings.Contains(stderr.String(), `"scaffoldcheck" is already in use`) {
		t.Errorf("second run: stderr = %q, want it to name the used name", stderr.String())
	}

	stderr.Reset()
	code = run(context.Background(), []string{"new", "service", "-repo", repo, "Pay-ments"}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), `"Pay-ments"`) {
		t.Errorf("invalid name: exit code = %d, stderr = %q; want 1 and the name", code, stderr.String())
	}
}
