// Package userstest runs the real users handler on a SQLite store in a
// test's temporary directory, and calls it in process, without go-micro, for
// tests of the services that depend on users.
package userstest

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/bulwark-go/bulwark/services/users/api"
	"github.com/bulwark-go/bulwark/services/users/handler"
	"github.com/bulwark-go/bulwark/services/users/internal/password"
	"github.com/bulwark-go/bulwark/services/users/internal/store"
)

// FastParams are argon2id parameters that make tests fast. They are far too
// cheap for production.
var FastParams = password.Params{Memory: 64, Time: 1, Threads: 1}

// Local calls a users handler directly. Its methods match the client in
// package users/client.
type Local struct {
	Handler *handler.Users
}

// New opens a new users store in t's temporary directory and returns a Local
// on a handler with FastParams. The store closes when t ends.
func New(t testing.TB) *Local {
	t.Helper()
	s, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "users.db"))
	if err != nil {
		t.Fatalf("userstest: open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	h, err := handler.New(handler.Options{Store: s, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Params: FastParams})
	if err != nil {
		t.Fatalf("userstest: %v", err)
	}
	return &Local{Handler: h}
}

// Register calls the handler's Register.
func (l *Local) Register(ctx context.Context, req *api.RegisterRequest) (*api.RegisterResponse, error) {
	rsp := &api.RegisterResponse{}
	return rsp, l.Handler.Register(ctx, req, rsp)
}

// Login calls the handler's Login.
func (l *Local) Login(ctx context.Context, req *api.LoginRequest) (*api.LoginResponse, error) {
	rsp := &api.LoginResponse{}
	return rsp, l.Handler.Login(ctx, req, rsp)
}

// Logout calls the handler's Logout.
func (l *Local) Logout(ctx context.Context, req *api.LogoutRequest) (*api.LogoutResponse, error) {
	rsp := &api.LogoutResponse{}
	return rsp, l.Handler.Logout(ctx, req, rsp)
}

// Authenticate calls the handler's Authenticate.
func (l *Local) Authenticate(ctx context.Context, req *api.AuthenticateRequest) (*api.AuthenticateResponse, error) {
	rsp := &api.AuthenticateResponse{}
	return rsp, l.Handler.Authenticate(ctx, req, rsp)
}
