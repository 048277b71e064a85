package handler

import (
	"context"
	"errors"

	"github.com/bulwark-go/bulwark/services/internal/ids"
	"github.com/bulwark-go/bulwark/services/internal/rpc"
	"github.com/bulwark-go/bulwark/services/users/api"
	"github.com/bulwark-go/bulwark/services/users/internal/password"
	"github.com/bulwark-go/bulwark/services/users/internal/store"
)

// Register creates an account. It returns 400 for an invalid email or a weak
// password and 409 if the email is registered.
//
// NOTE: the 409 reveals to a caller that an email is registered. Hiding it needs
// an email confirmation flow, which this service does not have; the gateway's
// rate limits bound how fast a caller can probe.
func (h *Users) Register(ctx context.Context, req *api.RegisterRequest, rsp *api.RegisterResponse) error {
	email, err := normalizeEmail(req.Email)
	if err != nil {
		return err
	}
	if req.Password == "" {
		return rpc.InvalidField(api.ServiceName, "password", "is required")
	}
	if reason := password.Check(req.Password, email); reason != "" {
		return rpc.InvalidField(api.ServiceName, "password", reason)
	}

	release, err := h.acquireHash(ctx)
	if err != nil {
		return h.hashBusy(ctx, err)
	}
	hash, err := password.Hash(req.Password, h.params)
	release()
	if err != nil {
		return rpc.Internal(ctx, h.log, api.ServiceName, "hash password", err)
	}

	user := store.User{ID: ids.New(api.UserIDPrefix), Email: email, PasswordHash: hash, CreatedAt: h.now().UTC()}
	if err := h.store.CreateUser(ctx, user); err != nil {
		if errors.Is(err, store.ErrEmailTaken) {
			return rpc.FieldConflict(api.ServiceName, "email", "is already registered")
		}
		return rpc.Internal(ctx, h.log, api.ServiceName, "create user", err)
	}
	h.log.InfoContext(ctx, "user registered", "user_id", user.ID)
	rsp.UserID = user.ID
	rsp.Email = email
	return nil
}
