package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

func openStore(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "users.db")
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func TestUserRoundTrip(t *testing.T) {
	s, _ := openStore(t)
	ctx := context.Background()
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	u := User{ID: "u1", Email: "ann@example.com", PasswordHash: "$argon2id$x", CreatedAt: created}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	got, err := s.UserByEmail(ctx, "ann@example.com")
	if err != nil {
		t.Fatalf("UserByEmail: %v", err)
	}
	if got != u {
		t.Errorf("UserByEmail = %+v, want %+v", got, u)
	}
	if _, err := s.UserByEmail(ctx, "bob@example.com"); !errors.Is(err, ErrNotFound) {
		t.Errorf("UserByEmail(unknown) = %v, want ErrNotFound", err)
	}
	u.ID = "u2"
	if err := s.CreateUser(ctx, u); !errors.Is(err, ErrEmailTaken) {
		t.Errorf("CreateUser(same email) = %v, want ErrEmailTaken", err)
	}
}

func TestSessionLifecycle(t *testing.T) {
	s, _ := openStore(t)
	ctx := context.Background()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := s.CreateUser(ctx, User{ID: "u1", Email: "a@example.com", PasswordHash: "h", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	hash := sha256.Sum256([]byte("token"))
	sess := Session{TokenHash: hash[:], UserID: "u1", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	got, err := s.SessionByHash(ctx, hash[:])
	if err != nil {
		t.Fatalf("SessionByHash: %v", err)
	}
	if got.UserID != "u1" || !got.ExpiresAt.Equal(sess.ExpiresAt) || !got.RevokedAt.IsZero() {
		t.Errorf("SessionByHash = %+v", got)
	}

	if err := s.RevokeSession(ctx, hash[:], now.Add(time.Minute)); err != nil {
		t.Fatalf("RevokeSession: %v", err)
	}
	if err := s.RevokeSession(ctx, hash[:], now.Add(2*time.Minute)); err != nil {
		t.Fatalf("RevokeSession again: %v", err)
	}
	got, err = s.SessionByHash(ctx, hash[:])
	if err != nil {
		t.Fatal(err)
	}
	if !got.RevokedAt.Equal(now.Add(time.Minute)) {
		t.Errorf("RevokedAt = %v, want the first revocation %v", got.RevokedAt, now.Add(time.Minute))
	}

	other := sha256.Sum256([]byte("other"))
	if err := s.RevokeSession(ctx, other[:], now); !errors.Is(err, ErrNotFound) {
		t.Errorf("RevokeSession(unknown) = %v, want ErrNotFound", err)
	}
	if _, err := s.SessionByHash(ctx, other[:]); !errors.Is(err, ErrNotFound) {
		t.Errorf("SessionByHash(unknown) = %v, want ErrNotFound", err)
	}

	n, err := s.DeleteSessionsExpiredBefore(ctx, now.Add(2*time.Hour))
	if err != nil || n != 1 {
		t.Errorf("DeleteSessionsExpiredBefore = (%d, %v), want (1, nil)", n, err)
	}
}

func TestSessionRejectsUnknownUser(t *testing.T) {
	s, _ := openStore(t)
	hash := sha256.Sum256([]byte("token"))
	now := time.Now()
	err := s.CreateSession(context.Background(), Session{TokenHash: hash[:], UserID: "ghost", CreatedAt: now, ExpiresAt: now})
	if err == nil {
		t.Fatal("CreateSession for a missing user succeeded; foreign keys are not enforced")
	}
}

func TestDataSurvivesReopen(t *testing.T) {
	s, path := openStore(t)
	ctx := context.Background()
	if err := s.CreateUser(ctx, User{ID: "u1", Email: "a@example.com", PasswordHash: "h", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s2.Close()
	u, err := s2.UserByEmail(ctx, "a@example.com")
	if err != nil || !bytes.Equal([]byte(u.ID), []byte("u1")) {
		t.Errorf("after reopen UserByEmail = (%+v, %v)", u, err)
	}
}
