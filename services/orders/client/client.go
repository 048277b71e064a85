// Package client calls the orders service through go-micro.
package client

import (
	"context"
	"errors"

	"github.com/bulwark-go/bulwark/services/internal/rpc"
	"github.com/bulwark-go/bulwark/services/orders/api"
	"go-micro.dev/v4/client"
)

// Client calls the orders service's endpoints.
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

// Place calls Orders.Place.
func (o *Client) Place(ctx context.Context, req *api.PlaceRequest) (*api.PlaceResponse, error) {
	return rpc.Call[api.PlaceResponse](ctx, o.c, api.ServiceName, api.EndpointPlace, req)
}

// List calls Orders.List.
func (o *Client) List(ctx context.Context, req *api.ListRequest) (*api.ListResponse, error) {
	return rpc.Call[api.ListResponse](ctx, o.c, api.ServiceName, api.EndpointList, req)
}

// Get calls Orders.Get.
func (o *Client) Get(ctx context.Context, req *api.GetRequest) (*api.GetResponse, error) {
	return rpc.Call[api.GetResponse](ctx, o.c, api.ServiceName, api.EndpointGet, req)
}

// Cancel calls Orders.Cancel.
func (o *Client) Cancel(ctx context.Context, req *api.CancelRequest) (*api.CancelResponse, error) {
	return rpc.Call[api.CancelResponse](ctx, o.c, api.ServiceName, api.EndpointCancel, req)
}
