package bootstrap

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteFileTightensMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "token")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeFile(path, []byte("new"), modeSecretFile); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("mode = %o, want 600", info.Mode().Perm())
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the file (no temporary left)", len(entries))
	}
}

func TestSyncFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	tests := []struct {
		desc      string
		data      string
		mode      os.FileMode
		chmod     os.FileMode
		wantWrote bool
	}{
		{"new file", "a", 0o600, 0, true},
		{"same content", "a", 0o600, 0, false},
		{"other content", "b", 0o600, 0, true},
		{"loosened mode", "b", 0o600, 0o644, true},
	}
	for _, tt := range tests {
		if tt.chmod != 0 {
			if err := os.Chmod(path, tt.chmod); err != nil {
				t.Fatal(err)
			}
		}
		wrote, err := syncFile(path, []byte(tt.data), tt.mode)
		if err != nil {
			t.Fatalf("%s: %v", tt.desc, err)
		}
		if wrote != tt.wantWrote {
			t.Errorf("%s: wrote = %v, want %v", tt.desc, wrote, tt.wantWrote)
		}
	}
}

func TestReadSecretFile(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		desc    string
		content string
		mode    os.FileMode
		want    string
		wantErr string
	}{
		{"valid", "s3cret\n", 0o600, "s3cret", ""},
		{"group readable", "s3cret\n", 0o640, "", "has mode 640"},
		{"world readable", "s3cret\n", 0o644, "", "chmod 600"},
		{"empty", " \n", 0o600, "", "is empty"},
	}
	for i, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			path := filepath.Join(dir, string(rune('a'+i)))
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tt.mode); err != nil {
				t.Fatal(err)
			}
			got, err := readSecretFile(path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "s3cret") {
					t.Fatal("error message contains the secret")
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("readSecretFile() = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	if _, err := readSecretFile(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: error = %v, want os.ErrNotExist", err)
	}
}
