// Package client calls the inventory service through go-micro.
package client

import (
	"context"
	"errors"

	"github.com/bulwark-go/bulwark/services/internal/rpc"
	"github.com/bulwark-go/bulwark/services/inventory/api"
	"go-micro.dev/v4/client"
)

// Client calls the inventory service's endpoints.
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

// ListProducts calls Inventory.ListProducts.
func (i *Client) ListProducts(ctx context.Context, req *api.ListProductsRequest) (*api.ListProductsResponse, error) {
	return rpc.Call[api.ListProductsResponse](ctx, i.c, api.ServiceName, api.EndpointListProducts, req)
}

// GetProduct calls Inventory.GetProduct.
func (i *Client) GetProduct(ctx context.Context, req *api.GetProductRequest) (*api.GetProductResponse, error) {
	return rpc.Call[api.GetProductResponse](ctx, i.c, api.ServiceName, api.EndpointGetProduct, req)
}

// Reserve calls Inventory.Reserve.
func (i *Client) Reserve(ctx context.Context, req *api.ReserveRequest) (*api.ReserveResponse, error) {
	return rpc.Call[api.ReserveResponse](ctx, i.c, api.ServiceName, api.EndpointReserve, req)
}

// Release calls Inventory.Release.
func (i *Client) Release(ctx context.Context, req *api.ReleaseRequest) (*api.ReleaseResponse, error) {
	return rpc.Call[api.ReleaseResponse](ctx, i.c, api.ServiceName, api.EndpointRelease, req)
}
