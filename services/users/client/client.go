// Package client calls the users service through go-micro.
package client

import (
	"context"
	"errors"

	"github.com/bulwark-go/bulwark/services/internal/rpc"
	"github.com/bulwark-go/bulwark/services/users/api"
	"go-micro.dev/v4/client"
)

// Client calls the users service's endpoints.
type Client struct {
	c client.Client
}

// New returns a Client on c.
func New(c client.Client) (*Client, error) {
	if c == nil {
		return nil, errors.New("client: go-micro client is nil")
	}
	return &Client{c: c}, nil
}

// Register calls Users.Register.
func (u *Client) Register(ctx context.Context, req *api.RegisterRequest) (*api.RegisterResponse, error) {
	return rpc.Call[api.RegisterResponse](ctx, u.c, api.ServiceName, api.EndpointRegister, req)
}

// Login calls Users.Login.
func (u *Client) Login(ctx context.Context, req *api.LoginRequest) (*api.LoginResponse, error) {
	return rpc.Call[api.LoginResponse](ctx, u.c, api.ServiceName, api.EndpointLogin, req)
}

// Logout calls Users.Logout.
func (u *Client) Logout(ctx context.Context, req *api.LogoutRequest) (*api.LogoutResponse, error) {
	return rpc.Call[api.LogoutResponse](ctx, u.c, api.ServiceName, api.EndpointLogout, req)
}

// Authenticate calls Users.Authenticate.
func (u *Client) Authenticate(ctx context.Context, req *api.AuthenticateRequest) (*api.AuthenticateResponse, error) {
	return rpc.Call[api.AuthenticateResponse](ctx, u.c, api.ServiceName, api.EndpointAuthenticate, req)
}
