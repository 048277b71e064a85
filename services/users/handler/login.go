package handler

import (
	"context"
	"errors"

	"github.com/bulwark-go/bulwark/services/internal/rpc"
	"github.com/bulwark-go/bulwark/services/users/api"
	"github.com/bulwark-go/bulwark/services/users/internal/password"
	"github.com/bulwark-go/bulwark/services/users/internal/store"
	merrors "go-micro.dev/v4/errors"
)

// MessageBadCredentials is the detail of every failed login, whether the
// email is unknown or the password is wrong.
const MessageBadCredentials = "email or password is incorrect"

// Login checks the password of an account and opens a session. Unknown email
// and wrong password both return 401 with MessageBadCredentials.
func (h *Users) Login(ctx context.Context, req *api.LoginRequest, rsp *api.LoginResponse) error {
	email, err := normalizeEmail(req.Email)
	if err != nil {
		return err
	}
	if err := checkLoginPassword(req.Password); err != nil {
		return err
	}

	user, err := h.store.UserByEmail(ctx, email)
	known := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return rpc.Internal(ctx, h.log, api.ServiceName, "read user", err)
	}
	hash := h.dummyHash
	if known {
		hash = user.PasswordHash
	}

	release, err := h.acquireHash(ctx)
	if err != nil {
		return h.hashBusy(ctx, err)
	}
	verr := password.Verify(req.Password, hash)
	release()

	switch {
	case !known || errors.Is(verr, password.ErrMismatch):
		// No user id in the log for unknown emails: there is none, and
		// logging the email would put personal data in the logs.
		if known {
			h.log.InfoContext(ctx, "login failed", "user_id", user.ID, "reason", "wrong password")
		} else {
			h.log.InfoContext(ctx, "login failed", "reason", "unknown email")
		}
		return merrors.Unauthorized(api.ServiceName, MessageBadCredentials)
	case verr != nil:
		return rpc.Internal(ctx, h.log, api.ServiceName, "verify password of "+user.ID, verr)
	}

	token, tokenHash, err := newToken()
	if err != nil {
		return rpc.Internal(ctx, h.log, api.ServiceName, "create session token", err)
	}
	now := h.now().UTC()
	sess := store.Session{TokenHash: tokenHash, UserID: user.ID, CreatedAt: now, ExpiresAt: now.Add(h.ttl)}
	if err := h.store.CreateSession(ctx, sess); err != nil {
		return rpc.Internal(ctx, h.log, api.ServiceName, "create session", err)
	}
	h.log.InfoContext(ctx, "login succeeded", "user_id", user.ID)
	rsp.UserID = user.ID
	rsp.Token = token
	rsp.ExpiresAt = sess.ExpiresAt
	return nil
}
