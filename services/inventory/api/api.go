// Package api defines the inventory service's name, endpoints, limits and
// request and response types.
package api

import "regexp"

// ServiceName is the registry name and certificate identity of the service.
const ServiceName = "inventory"

// Endpoint names, as go-micro routes them: the handler type and method.
const (
	EndpointListProducts = "Inventory.ListProducts"
	EndpointGetProduct   = "Inventory.GetProduct"
	EndpointReserve      = "Inventory.Reserve"
	EndpointRelease      = "Inventory.Release"
)

// Limits of one reservation, which the orders service and the gateway apply
// to an order too.
const (
	// MaxItems is the most lines one reservation may have.
	MaxItems = 20
	// MaxQuantity is the most units of one product in one reservation.
	MaxQuantity = 100
)

// ProductIDPattern is the form of a product id: 1 to 64 lowercase letters,
// digits and hyphens, starting with a letter or digit.
var ProductIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)

// Product is a product and its current stock.
type Product struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	PriceCents int64  `json:"price_cents"`
	Stock      int64  `json:"stock"`
}

// Item is one line of a reservation.
type Item struct {
	ProductID string `json:"product_id"`
	Quantity  int64  `json:"quantity"`
}

// ReservedItem is one reserved line with the unit price at reservation.
type ReservedItem struct {
	ProductID      string `json:"product_id"`
	Quantity       int64  `json:"quantity"`
	UnitPriceCents int64  `json:"unit_price_cents"`
}

// ListProductsRequest lists all products.
type ListProductsRequest struct{}

// ListProductsResponse carries the products ordered by id.
type ListProductsResponse struct {
	Products []Product `json:"products"`
}

// GetProductRequest reads one product.
type GetProductRequest struct {
	ProductID string `json:"product_id"`
}

// GetProductResponse carries the product.
type GetProductResponse struct {
	Product Product `json:"product"`
}

// ReserveRequest takes stock for an order: all items or none. Repeating a
// request with the same OrderID and items reserves once.
type ReserveRequest struct {
	OrderID string `json:"order_id"`
	Items   []Item `json:"items"`
}

// ReserveResponse carries the reserved lines.
type ReserveResponse struct {
	Items []ReservedItem `json:"items"`
}

// ReleaseRequest returns the stock reserved for an order. Releasing an order
// twice, or one that was never reserved, restores nothing more.
type ReleaseRequest struct {
	OrderID string `json:"order_id"`
}

// ReleaseResponse reports whether this call returned stock.
type ReleaseResponse struct {
	Released bool `json:"released"`
}
