package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/bulwark-go/bulwark/services/internal/sqlitedb"
)

var (
	// ErrNotFound is returned when no row matches.
	ErrNotFound = errors.New("store: not found")
	// ErrEmailTaken is returned by CreateUser when the email is registered.
	ErrEmailTaken = errors.New("store: email is already registered")
)

var migrations = []string{`
CREATE TABLE users (
	id            TEXT PRIMARY KEY,
	email         TEXT NOT NULL UNIQUE,
	password_hash TEXT NOT NULL,
	created_at    INTEGER NOT NULL
);
CREATE TABLE sessions (
	token_hash BLOB PRIMARY KEY CHECK (length(token_hash) = 32),
	user_id    TEXT NOT NULL REFERENCES users(id),
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	revoked_at INTEGER
);
CREATE INDEX sessions_expires_at ON sessions(expires_at);
`}

// User is an account.
type User struct {
	ID           string
	Email        string
	PasswordHash string
	CreatedAt    time.Time
}

// Session is a login session, known only by the SHA-256 hash of its token.
type Session struct {
	TokenHash []byte
	UserID    string
	CreatedAt time.Time
	ExpiresAt time.Time
	// RevokedAt is zero while the session is not revoked.
	RevokedAt time.Time
}

// Store is the users database. It is safe for concurrent use.
type Store struct {
	db *sql.DB
}

// Open opens or creates the database file at path.
func Open(ctx context.Context, path string) (*Store, error) {
	db, err := sqlitedb.Open(ctx, sqlitedb.Options{Path: path, Migrations: migrations})
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return &Store{db: db}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// CreateUser inserts u. It returns ErrEmailTaken if u.Email is registered.
func (s *Store) CreateUser(ctx context.Context, u User) error {
	_, err := s.db.ExecContext(ctx,
		`INSERT INTO users (id, email, password_hash, created_at) VALUES (?, ?, ?, ?)`,
		u.ID, u.Email, u.PasswordHash, u.CreatedAt.UnixMilli())
	if err != nil {
		if isUniqueViolation(err, "users.email") {
			return ErrEmailTaken
		}
		return fmt.Errorf("store: insert user: %w", err)
	}
	return nil
}

// UserByEmail returns the user with the normalized email.
func (s *Store) UserByEmail(ctx context.Context, email string) (User, error) {
	var u User
	var created int64
	err := s.db.QueryRowContext(ctx,
		`SELECT id, email, password_hash, created_at FROM users WHERE email = ?`, email).
		Scan(&u.ID, &u.Email, &u.PasswordHash, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrNotFound
	}
	if err != nil {
		return User{}, fmt.Errorf("store: read user: %w", err)
	}
	u.CreatedAt = time.UnixMilli(created).UTC()
	return u, nil
}

// CreateSession inserts sess.
func (s *Store) CreateSession(ctx context.Context, sess Session) error {
	_, err := s.db.ExecContext(ctx,
		`INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)`,
		sess.TokenHash, sess.UserID, sess.CreatedAt.UnixMilli(), sess.ExpiresAt.UnixMilli())
	if err != nil {
		return fmt.Errorf("store: insert session: %w", err)
	}
	return nil
}

// SessionByHash returns the session whose token hashes to tokenHash, revoked
// and expired sessions included: the caller decides what is valid.
func (s *Store) SessionByHash(ctx context.Context, tokenHash []byte) (Session, error) {
	sess := Session{TokenHash: tokenHash}
	var created, expires int64
	var revoked sql.NullInt64
	err := s.db.QueryRowContext(ctx,
		`SELECT user_id, created_at, expires_at, revoked_at FROM sessions WHERE token_hash = ?`, tokenHash).
		Scan(&sess.UserID, &created, &expires, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, ErrNotFound
	}
	if err != nil {
		return Session{}, fmt.Errorf("store: read session: %w", err)
	}
	sess.CreatedAt = time.UnixMilli(created).UTC()
	sess.ExpiresAt = time.UnixMilli(expires).UTC()
	if revoked.Valid {
		sess.RevokedAt = time.UnixMilli(revoked.Int64).UTC()
	}
	return sess, nil
}

// RevokeSession marks the session revoked at the given time. Revoking a
// revoked session keeps the first revocation time. It returns ErrNotFound if
// no session has tokenHash.
func (s *Store) RevokeSession(ctx context.Context, tokenHash []byte, at time.Time) error {
	res, err := s.db.ExecContext(ctx,
		`UPDATE sessions SET revoked_at = coalesce(revoked_at, ?) WHERE token_hash = ?`, at.UnixMilli(), tokenHash)
	if err != nil {
		return fmt.Errorf("store: revoke session: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: revoke session: %w", err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// DeleteSessionsExpiredBefore deletes sessions that expired before t and
// returns how many it deleted. Expired sessions are already rejected, so this
// only bounds the table's size. The service's main.go calls it periodically.
func (s *Store) DeleteSessionsExpiredBefore(ctx context.Context, t time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at < ?`, t.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("store: delete expired sessions: %w", err)
	}
	return res.RowsAffected()
}

// DB returns the underlying pool, for tests that inspect stored rows.
func (s *Store) DB() *sql.DB { return s.db }

// isUniqueViolation reports whether err is SQLite's UNIQUE constraint error
// on column, which the driver reports as "UNIQUE constraint failed: t.c".
func isUniqueViolation(err error, column string) bool {
	return strings.Contains(err.Error(), "UNIQUE constraint failed: "+column)
}
