package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/bulwark-go/bulwark/services/internal/sqlitedb"
	"github.com/bulwark-go/bulwark/services/orders/api"
)

var migrations = []string{`
CREATE TABLE orders (
	id          TEXT PRIMARY KEY,
	user_id     TEXT NOT NULL,
	status      TEXT NOT NULL CHECK (status IN ('placed', 'cancelled')),
	total_cents INTEGER NOT NULL CHECK (total_cents >= 0),
	created_at  INTEGER NOT NULL,
	updated_at  INTEGER NOT NULL
);
CREATE INDEX orders_user_created ON orders(user_id, created_at);
CREATE TABLE order_items (
	order_id         TEXT NOT NULL REFERENCES orders(id),
	line             INTEGER NOT NULL,
	product_id       TEXT NOT NULL,
	quantity         INTEGER NOT NULL CHECK (quantity > 0),
	unit_price_cents INTEGER NOT NULL CHECK (unit_price_cents >= 0),
	PRIMARY KEY (order_id, line)
);
CREATE TABLE outbox (
	seq          INTEGER PRIMARY KEY AUTOINCREMENT,
	event_id     TEXT NOT NULL UNIQUE,
	topic        TEXT NOT NULL,
	payload      BLOB NOT NULL,
	created_at   INTEGER NOT NULL,
	published_at INTEGER
);
CREATE INDEX outbox_pending ON outbox(published_at, seq);
`}

// ErrNotFound is returned when the user has no order with the id.
var ErrNotFound = errors.New("store: order not found")

// Event is an outbox entry: an event to publish, in order of seq.
type Event struct {
	Seq     int64
	ID      string
	Topic   string
	Payload []byte
}

// Store is the orders database. It is safe for concurrent use.
type Store struct {
	db *sql.DB
}

// Open opens or creates the database at path.
func Open(ctx context.Context, path string) (*Store, error) {
	db, err := sqlitedb.Open(ctx, sqlitedb.Options{Path: path, Migrations: migrations})
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return &Store{db: db}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// DB returns the underlying pool, for tests that inspect or break rows.
func (s *Store) DB() *sql.DB { return s.db }

// CreateOrder stores o and its event in one transaction.
func (s *Store) CreateOrder(ctx context.Context, o api.Order, ev Event) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: create order %s: %w", o.ID, err)
	}
	defer tx.Rollback()

	if _, err := tx.ExecContext(ctx, `INSERT INTO orders (id, user_id, status, total_cents, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?)`, o.ID, o.UserID, o.Status, o.TotalCents,
		o.CreatedAt.UnixMilli(), o.UpdatedAt.UnixMilli()); err != nil {
		return fmt.Errorf("store: create order %s: %w", o.ID, err)
	}
	for i, it := range o.Items {
		if _, err := tx.ExecContext(ctx, `INSERT INTO order_items
			(order_id, line, product_id, quantity, unit_price_cents) VALUES (?, ?, ?, ?, ?)`,
			o.ID, i, it.ProductID, it.Quantity, it.UnitPriceCents); err != nil {
			return fmt.Errorf("store: create order %s: item %d: %w", o.ID, i, err)
		}
	}
	if err := addEvent(ctx, tx, ev, o.CreatedAt); err != nil {
		return fmt.Errorf("store: create order %s: %w", o.ID, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: create order %s: commit: %w", o.ID, err)
	}
	return nil
}

// Order returns the order orderID of userID, or ErrNotFound if it does not
// exist or belongs to another user.
func (s *Store) Order(ctx context.Context, userID, orderID string) (api.Order, error) {
	return readOrder(ctx, s.db, userID, orderID)
}

// ListOrders returns at most limit orders of userID, newest first.
func (s *Store) ListOrders(ctx context.Context, userID string, limit int) ([]api.Order, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id FROM orders WHERE user_id = ?
		ORDER BY created_at DESC, id DESC LIMIT ?`, userID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: list orders: %w", err)
	}
	var orderIDs []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: list orders: %w", err)
		}
		orderIDs = append(orderIDs, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list orders: %w", err)
	}
	out := make([]api.Order, 0, len(orderIDs))
	for _, id := range orderIDs {
		o, err := readOrder(ctx, s.db, userID, id)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// CancelOrder sets the order's status to cancelled and stores the event made
// by newEvent from the cancelled order, in one transaction. Cancelling a
// cancelled order changes nothing and returns changed false.
func (s *Store) CancelOrder(ctx context.Context, userID, orderID string, now time.Time,
	newEvent func(api.Order) (Event, error)) (o api.Order, changed bool, err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return api.Order{}, false, fmt.Errorf("store: cancel order %s: %w", orderID, err)
	}
	defer tx.Rollback()

	o, err = readOrder(ctx, tx, userID, orderID)
	if err != nil {
		return api.Order{}, false, err
	}
	if o.Status == api.StatusCancelled {
		return o, false, nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE orders SET status = ?, updated_at = ? WHERE id = ? AND user_id = ?`,
		api.StatusCancelled, now.UnixMilli(), orderID, userID); err != nil {
		return api.Order{}, false, fmt.Errorf("store: cancel order %s: %w", orderID, err)
	}
	o.Status = api.StatusCancelled
	o.UpdatedAt = time.UnixMilli(now.UnixMilli()).UTC()
	ev, err := newEvent(o)
	if err != nil {
		return api.Order{}, false, fmt.Errorf("store: cancel order %s: %w", orderID, err)
	}
	if err := addEvent(ctx, tx, ev, now); err != nil {
		return api.Order{}, false, fmt.Errorf("store: cancel order %s: %w", orderID, err)
	}
	if err := tx.Commit(); err != nil {
		return api.Order{}, false, fmt.Errorf("store: cancel order %s: commit: %w", orderID, err)
	}
	return o, true, nil
}

// querier is the part of *sql.DB and *sql.Tx that readOrder uses.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func readOrder(ctx context.Context, q querier, userID, orderID string) (api.Order, error) {
	o := api.Order{ID: orderID, UserID: userID}
	var created, updated int64
	err := q.QueryRowContext(ctx, `SELECT status, total_cents, created_at, updated_at FROM orders
		WHERE id = ? AND user_id = ?`, orderID, userID).Scan(&o.Status, &o.TotalCents, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return api.Order{}, ErrNotFound
	}
	if err != nil {
		return api.Order{}, fmt.Errorf("store: read order %s: %w", orderID, err)
	}
	o.CreatedAt = time.UnixMilli(created).UTC()
	o.UpdatedAt = time.UnixMilli(updated).UTC()

	rows, err := q.QueryContext(ctx, `SELECT product_id, quantity, unit_price_cents FROM order_items
		WHERE order_id = ? ORDER BY line`, orderID)
	if err != nil {
		return api.Order{}, fmt.Errorf("store: read items of order %s: %w", orderID, err)
	}
	defer rows.Close()
	o.Items = []api.OrderItem{}
	for rows.Next() {
		var it api.OrderItem
		if err := rows.Scan(&it.ProductID, &it.Quantity, &it.UnitPriceCents); err != nil {
			return api.Order{}, fmt.Errorf("store: read items of order %s: %w", orderID, err)
		}
		o.Items = append(o.Items, it)
	}
	if err := rows.Err(); err != nil {
		return api.Order{}, fmt.Errorf("store: read items of order %s: %w", orderID, err)
	}
	return o, nil
}
