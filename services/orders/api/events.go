package api

import "time"

// Topics of the events the orders service publishes.
const (
	TopicOrderPlaced    = "order.placed"
	TopicOrderCancelled = "order.cancelled"
)

// EventIDPrefix starts every event id.
const EventIDPrefix = "e"

// OrderEvent is published on TopicOrderPlaced and TopicOrderCancelled.
// Brokers may deliver an event more than once, so consumers must handle a
// repeated EventID or OrderID without repeating its effect.
type OrderEvent struct {
	EventID    string      `json:"event_id"`
	Topic      string      `json:"topic"`
	OrderID    string      `json:"order_id"`
	UserID     string      `json:"user_id"`
	Status     string      `json:"status"`
	Items      []OrderItem `json:"items"`
	OccurredAt time.Time   `json:"occurred_at"`
}
