package sqlitedb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// DefaultBusyTimeout is how long a connection waits for another connection's
// write lock before it fails with SQLITE_BUSY.
const DefaultBusyTimeout = 5 * time.Second

// Options configures Open.
type Options struct {
	// Path is the database file. It is required; its directory must exist.
	// Open creates the file with mode 0600 if it does not exist.
	Path string
	// Migrations are the schema steps of the service, in order. Step i
	// (counting from 1) runs once, when the file's user_version is below i,
	// in one transaction with the update of user_version. Steps are never
	// edited once released: a schema change is a new step at the end.
	Migrations []string
	// BusyTimeout overrides DefaultBusyTimeout when positive.
	BusyTimeout time.Duration
}

// Open opens the database at opts.Path, applies the pending migrations and
// returns a pool ready for use.
func Open(ctx context.Context, opts Options) (*sql.DB, error) {
	if opts.Path == "" {
		return nil, errors.New("sqlitedb: database path is empty; set the service's database file path")
	}
	dir := filepath.Dir(opts.Path)
	info, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("sqlitedb: directory %q of database %q: %w; create it first", dir, opts.Path, err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("sqlitedb: %q is not a directory; the database path %q needs an existing directory",
			dir, opts.Path)
	}
	if err := createFile(opts.Path); err != nil {
		return nil, err
	}

	busy := opts.BusyTimeout
	if busy <= 0 {
		busy = DefaultBusyTimeout
	}
	db, err := sql.Open("sqlite", dsn(opts.Path, busy))
	if err != nil {
		return nil, fmt.Errorf("sqlitedb: open %q: %w", opts.Path, err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlitedb: open %q: %w", opts.Path, err)
	}
	if err := migrate(ctx, db, opts.Migrations); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlitedb: migrate %q: %w", opts.Path, err)
	}
	return db, nil
}

// createFile creates the database file with mode 0600 so that the driver
// does not create it with the process umask, which is often world-readable.
func createFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("sqlitedb: create database file %q: %w", path, err)
	}
	return f.Close()
}

func dsn(path string, busy time.Duration) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busy.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// migrate runs the steps above the file's user_version.
func migrate(ctx context.Context, db *sql.DB, steps []string) error {
	var version int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("read user_version: %w", err)
	}
	if version > len(steps) {
		return fmt.Errorf("schema version %d is newer than this build's %d; run a newer build or restore a backup",
			version, len(steps))
	}
	for i := version; i < len(steps); i++ {
		if err := runStep(ctx, db, i+1, steps[i]); err != nil {
			return err
		}
	}
	return nil
}

func runStep(ctx context.Context, db *sql.DB, version int, step string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("step %d: %w", version, err)
	}
	defer tx.Rollback()

	if _, err := tx.ExecContext(ctx, step); err != nil {
		return fmt.Errorf("step %d: %w", version, err)
	}
	// PRAGMA takes no bound parameters; version is an int, so formatting it in
	// is safe.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", version)); err != nil {
		return fmt.Errorf("step %d: set user_version: %w", version, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("step %d: commit: %w", version, err)
	}
	return nil
}
