// Package api defines the orders service's name, endpoints, request and
// response types, and the events it publishes.
package api

import (
	"time"

	"github.com/bulwark-go/bulwark/services/internal/ids"
)

// ServiceName is the registry name and certificate identity of the service.
const ServiceName = "orders"

// Endpoint names, as go-micro routes them: the handler type and method.
const (
	EndpointPlace  = "Orders.Place"
	EndpointList   = "Orders.List"
	EndpointGet    = "Orders.Get"
	EndpointCancel = "Orders.Cancel"
)

// Order states.
const (
	StatusPlaced    = "placed"
	StatusCancelled = "cancelled"
)

// OrderIDPrefix starts every order id.
const OrderIDPrefix = "o"

// ValidOrderID reports whether id has the form of an order id.
func ValidOrderID(id string) bool { return ids.Valid(OrderIDPrefix, id) }

// Item is one line of an order request.
type Item struct {
	ProductID string `json:"product_id"`
	Quantity  int64  `json:"quantity"`
}

// OrderItem is one line of a placed order, with the unit price at placement.
type OrderItem struct {
	ProductID      string `json:"product_id"`
	Quantity       int64  `json:"quantity"`
	UnitPriceCents int64  `json:"unit_price_cents"`
}

// Order is an order as stored.
type Order struct {
	ID         string      `json:"id"`
	UserID     string      `json:"user_id"`
	Status     string      `json:"status"`
	Items      []OrderItem `json:"items"`
	TotalCents int64       `json:"total_cents"`
	CreatedAt  time.Time   `json:"created_at"`
	UpdatedAt  time.Time   `json:"updated_at"`
}

// PlaceRequest places an order for UserID, which the gateway took from an
// authenticated session.
type PlaceRequest struct {
	UserID string `json:"user_id"`
	Items  []Item `json:"items"`
}

// PlaceResponse carries the placed order.
type PlaceResponse struct {
	Order Order `json:"order"`
}

// ListRequest lists the orders of UserID, newest first.
type ListRequest struct {
	UserID string `json:"user_id"`
}

// ListResponse carries at most MaxListedOrders orders.
type ListResponse struct {
	Orders []Order `json:"orders"`
}

// MaxListedOrders is the most orders List returns.
const MaxListedOrders = 100

// GetRequest reads one order of UserID.
type GetRequest struct {
	UserID  string `json:"user_id"`
	OrderID string `json:"order_id"`
}

// GetResponse carries the order.
type GetResponse struct {
	Order Order `json:"order"`
}

// CancelRequest cancels one order of UserID.
type CancelRequest struct {
	UserID  string `json:"user_id"`
	OrderID string `json:"order_id"`
}

// CancelResponse carries the cancelled order.
type CancelResponse struct {
	Order Order `json:"order"`
}
