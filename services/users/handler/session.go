package handler

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/bulwark-go/bulwark/services/internal/rpc"
	"github.com/bulwark-go/bulwark/services/users/api"
	"github.com/bulwark-go/bulwark/services/users/internal/store"
	merrors "go-micro.dev/v4/errors"
)

const (
	tokenBytes = 32
	// TokenLength is the length of a session token: 32 random bytes in
	// unpadded base64url.
	TokenLength = 43
)

// MessageInvalidSession is the detail of every rejected session token:
// malformed, unknown, expired or revoked.
const MessageInvalidSession = "session is invalid or expired; log in again"

// newToken returns a new session token and the SHA-256 hash that is stored.
func newToken() (string, []byte, error) {
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("read random token: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(token))
	return token, sum[:], nil
}

// hashToken returns the stored hash of token, or false if token does not
// have the form newToken produces.
func hashToken(token string) ([]byte, bool) {
	if len(token) != TokenLength {
		return nil, false
	}
	if b, err := base64.RawURLEncoding.Strict().DecodeString(token); err != nil || len(b) != tokenBytes {
		return nil, false
	}
	sum := sha256.Sum256([]byte(token))
	return sum[:], true
}

// validSession returns the session of token if it exists, is not revoked and
// has not expired.
func (h *Users) validSession(ctx context.Context, token string) (store.Session, error) {
	if token == "" {
		return store.Session{}, rpc.InvalidField(api.ServiceName, "token", "is required")
	}
	hash, ok := hashToken(token)
	if !ok {
		return store.Session{}, merrors.Unauthorized(api.ServiceName, MessageInvalidSession)
	}
	sess, err := h.store.SessionByHash(ctx, hash)
	if errors.Is(err, store.ErrNotFound) {
		return store.Session{}, merrors.Unauthorized(api.ServiceName, MessageInvalidSession)
	}
	if err != nil {
		return store.Session{}, rpc.Internal(ctx, h.log, api.ServiceName, "read session", err)
	}
	if !sess.RevokedAt.IsZero() || !h.now().Before(sess.ExpiresAt) {
		return store.Session{}, merrors.Unauthorized(api.ServiceName, MessageInvalidSession)
	}
	return sess, nil
}

// Authenticate returns the user of a valid session token. It returns 401 with
// MessageInvalidSession for a malformed, unknown, expired or revoked token.
func (h *Users) Authenticate(ctx context.Context, req *api.AuthenticateRequest, rsp *api.AuthenticateResponse) error {
	sess, err := h.validSession(ctx, req.Token)
	if err != nil {
		return err
	}
	rsp.UserID = sess.UserID
	rsp.ExpiresAt = sess.ExpiresAt
	return nil
}

// Logout revokes the session of a token. The token must be valid, so a
// revoked or expired token gets 401 like in Authenticate.
func (h *Users) Logout(ctx context.Context, req *api.LogoutRequest, rsp *api.LogoutResponse) error {
	sess, err := h.validSession(ctx, req.Token)
	if err != nil {
		return err
	}
	if err := h.store.RevokeSession(ctx, sess.TokenHash, h.now().UTC()); err != nil {
		return rpc.Internal(ctx, h.log, api.ServiceName, "revoke session", err)
	}
	h.log.InfoContext(ctx, "logout", "user_id", sess.UserID)
	return nil
}
