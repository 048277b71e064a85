package sqlitedb

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var testSteps = []string{
	`CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)`,
	`ALTER TABLE items ADD COLUMN size INTEGER NOT NULL DEFAULT 0`,
}

func openTest(t *testing.T, path string, steps []string) {
	t.Helper()
	db, err := Open(context.Background(), Options{Path: path, Migrations: steps})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
}

func TestOpenSettings(t *testing.T) {
	path := filepath.Join(t.TempDir(), "test.db")
	db, err := Open(context.Background(), Options{Path: path, Migrations: testSteps})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer db.Close()

	pragmas := map[string]string{
		"journal_mode": "wal",
		"busy_timeout": "5000",
		"synchronous":  "2",
		"foreign_keys": "1",
		"user_version": "2",
	}
	for name, want := range pragmas {
		var got string
		if err := db.QueryRow("PRAGMA " + name).Scan(&got); err != nil {
			t.Fatalf("PRAGMA %s: %v", name, err)
		}
		if got != want {
			t.Errorf("PRAGMA %s = %q, want %q", name, got, want)
		}
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Errorf("database file mode = %o, want 600", mode)
	}
}

func TestOpenMigratesOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "test.db")
	ctx := context.Background()

	db, err := Open(ctx, Options{Path: path, Migrations: testSteps[:1]})
	if err != nil {
		t.Fatalf("Open with one step: %v", err)
	}
	if _, err := db.Exec(`INSERT INTO items (name) VALUES ('kept')`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	// Reopening runs only the new step and keeps the data.
	db, err = Open(ctx, Options{Path: path, Migrations: testSteps})
	if err != nil {
		t.Fatalf("Open with two steps: %v", err)
	}
	defer db.Close()
	var name string
	var size int
	if err := db.QueryRow(`SELECT name, size FROM items`).Scan(&name, &size); err != nil {
		t.Fatalf("read after migration: %v", err)
	}
	if name != "kept" || size != 0 {
		t.Errorf("row = (%q, %d), want (kept, 0)", name, size)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	newer := filepath.Join(dir, "newer.db")
	openTest(t, newer, testSteps)

	tests := []struct {
		desc    string
		opts    Options
		wantErr string
	}{
		{desc: "empty path", opts: Options{}, wantErr: "database path is empty"},
		{desc: "missing directory", opts: Options{Path: filepath.Join(dir, "missing", "x.db")},
			wantErr: "create it first"},
		{desc: "parent is a file", opts: Options{Path: filepath.Join(file, "x.db")}, wantErr: "is not a directory"},
		{desc: "bad step", opts: Options{Path: filepath.Join(dir, "bad.db"), Migrations: []string{"CREATE TABLE ("}},
			wantErr: "step 1"},
		{desc: "schema newer than build", opts: Options{Path: newer, Migrations: testSteps[:1]},
			wantErr: "schema version 2 is newer than this build's 1"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			db, err := Open(context.Background(), tt.opts)
			if err == nil {
				db.Close()
				t.Fatalf("Open succeeded, want an error containing %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Open error = %q, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestOpenFailedStepRollsBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "test.db")
	steps := []string{testSteps[0], "INSERT INTO items (name) VALUES ('x'); CREATE TABLE ("}
	if db, err := Open(context.Background(), Options{Path: path, Migrations: steps}); err == nil {
		db.Close()
		t.Fatal("Open succeeded with a broken step")
	}
	db, err := Open(context.Background(), Options{Path: path, Migrations: testSteps[:1]})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM items`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("rows after failed step = %d, want 0", n)
	}
}
