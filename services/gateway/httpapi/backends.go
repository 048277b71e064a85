package httpapi

import (
	"context"
	"time"

	inventoryapi "github.com/bulwark-go/bulwark/services/inventory/api"
	ordersapi "github.com/bulwark-go/bulwark/services/orders/api"
	usersapi "github.com/bulwark-go/bulwark/services/users/api"
)

// Users is the part of the users service the gateway calls. In production it
// is the go-micro client in package users/client.
type Users interface {
	Register(ctx context.Context, req *usersapi.RegisterRequest) (*usersapi.RegisterResponse, error)
	Login(ctx context.Context, req *usersapi.LoginRequest) (*usersapi.LoginResponse, error)
	Logout(ctx context.Context, req *usersapi.LogoutRequest) (*usersapi.LogoutResponse, error)
	Authenticate(ctx context.Context, req *usersapi.AuthenticateRequest) (*usersapi.AuthenticateResponse, error)
}

// Orders is the part of the orders service the gateway calls, the go-micro
// client in package orders/client in production.
type Orders interface {
	Place(ctx context.Context, req *ordersapi.PlaceRequest) (*ordersapi.PlaceResponse, error)
	List(ctx context.Context, req *ordersapi.ListRequest) (*ordersapi.ListResponse, error)
	Get(ctx context.Context, req *ordersapi.GetRequest) (*ordersapi.GetResponse, error)
	Cancel(ctx context.Context, req *ordersapi.CancelRequest) (*ordersapi.CancelResponse, error)
}

// Products is the part of the inventory service the gateway calls, the
// go-micro client in package inventory/client in production.
type Products interface {
	ListProducts(ctx context.Context, req *inventoryapi.ListProductsRequest) (*inventoryapi.ListProductsResponse, error)
}

// LoginLimiter limits password attempts. The gateway calls Allow before each
// password check with the normalized email and the client address. To reject
// the attempt, Allow returns false and the wait until the next allowed one.
// The gateway calls Failed with the same arguments when the users service
// rejected the password of an allowed attempt, so that budgets of failures
// are charged only for failures.
type LoginLimiter interface {
	Allow(username, ip string) (ok bool, retryAfter time.Duration)
	Failed(username, ip string)
}

// Backends are the services behind the gateway.
type Backends struct {
	Users    Users
	Orders   Orders
	Products Products
}
