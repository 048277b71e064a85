package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Item is one line to reserve.
type Item struct {
	ProductID string
	Quantity  int64
}

// ReservedItem is one reserved line with the unit price at reservation.
type ReservedItem struct {
	ProductID      string
	Quantity       int64
	UnitPriceCents int64
}

var (
	// ErrReleased is returned by Reserve for an order that was released, or
	// whose release arrived before its reservation.
	ErrReleased = errors.New("store: order was released")
	// ErrMismatch is returned by Reserve when the order is already reserved
	// with other items.
	ErrMismatch = errors.New("store: order is already reserved with other items")
	// ErrUnknownProduct is wrapped in an ItemError for a product that does
	// not exist.
	ErrUnknownProduct = errors.New("store: unknown product")
	// ErrInsufficientStock is wrapped in an ItemError for a product with
	// less stock than requested.
	ErrInsufficientStock = errors.New("store: insufficient stock")
)

// ItemError names the line of a reservation that failed.
type ItemError struct {
	Index int
	Err   error
}

func (e *ItemError) Error() string { return fmt.Sprintf("item %d: %v", e.Index, e.Err) }
func (e *ItemError) Unwrap() error { return e.Err }

// Reserve takes the stock of items for orderID, all items or none. For an
// order that is already reserved with the same items it takes nothing and
// returns the first reservation.
func (s *Store) Reserve(ctx context.Context, orderID string, items []Item, now time.Time) ([]ReservedItem, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("store: reserve %s: %w", orderID, err)
	}
	defer tx.Rollback()

	var state string
	err = tx.QueryRowContext(ctx, `SELECT state FROM reservations WHERE order_id = ?`, orderID).Scan(&state)
	switch {
	case err == nil && state == "released":
		return nil, ErrReleased
	case err == nil:
		existing, err := reservedItems(ctx, tx, orderID)
		if err != nil {
			return nil, err
		}
		if !sameItems(existing, items) {
			return nil, ErrMismatch
		}
		return existing, nil
	case !errors.Is(err, sql.ErrNoRows):
		return nil, fmt.Errorf("store: reserve %s: %w", orderID, err)
	}

	if _, err := tx.ExecContext(ctx, `INSERT INTO reservations (order_id, state, created_at) VALUES (?, 'reserved', ?)`,
		orderID, now.UnixMilli()); err != nil {
		return nil, fmt.Errorf("store: reserve %s: %w", orderID, err)
	}
	out := make([]ReservedItem, 0, len(items))
	for i, it := range items {
		price, err := takeStock(ctx, tx, it)
		if err != nil {
			var itemErr *ItemError
			if errors.As(err, &itemErr) {
				itemErr.Index = i
			}
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO reservation_items
			(order_id, line, product_id, quantity, unit_price_cents) VALUES (?, ?, ?, ?, ?)`,
			orderID, i, it.ProductID, it.Quantity, price); err != nil {
			return nil, fmt.Errorf("store: reserve %s: %w", orderID, err)
		}
		out = append(out, ReservedItem{ProductID: it.ProductID, Quantity: it.Quantity, UnitPriceCents: price})
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("store: reserve %s: commit: %w", orderID, err)
	}
	return out, nil
}

// takeStock decrements the stock of one product if enough is left and
// returns its unit price. The WHERE clause makes the check and the decrement
// one step, so no other transaction can take the same units in between.
func takeStock(ctx context.Context, tx *sql.Tx, it Item) (int64, error) {
	var price int64
	err := tx.QueryRowContext(ctx,
		`UPDATE products SET stock = stock - ? WHERE id = ? AND stock >= ? RETURNING price_cents`,
		it.Quantity, it.ProductID, it.Quantity).Scan(&price)
	if err == nil {
		return price, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("store: take stock of %s: %w", it.ProductID, err)
	}
	var exists int
	err = tx.QueryRowContext(ctx, `SELECT 1 FROM products WHERE id = ?`, it.ProductID).Scan(&exists)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, &ItemError{Err: ErrUnknownProduct}
	}
	if err != nil {
		return 0, fmt.Errorf("store: read product %s: %w", it.ProductID, err)
	}
	return 0, &ItemError{Err: ErrInsufficientStock}
}

// Release returns the stock reserved for orderID. It returns true if this
// call returned stock, and false if the order was released before or never
// reserved. For an order never reserved, it records the release, so that a
// later Reserve of orderID fails with ErrReleased.
func (s *Store) Release(ctx context.Context, orderID string, now time.Time) (bool, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("store: release %s: %w", orderID, err)
	}
	defer tx.Rollback()

	var state string
	err = tx.QueryRowContext(ctx, `SELECT state FROM reservations WHERE order_id = ?`, orderID).Scan(&state)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := tx.ExecContext(ctx, `INSERT INTO reservations (order_id, state, created_at, released_at)
			VALUES (?, 'released', ?, ?)`, orderID, now.UnixMilli(), now.UnixMilli()); err != nil {
			return false, fmt.Errorf("store: release %s: %w", orderID, err)
		}
		return false, commit(tx, orderID)
	case err != nil:
		return false, fmt.Errorf("store: release %s: %w", orderID, err)
	case state == "released":
		return false, nil
	}

	if _, err := tx.ExecContext(ctx, `UPDATE products SET stock = stock + (
			SELECT sum(quantity) FROM reservation_items r WHERE r.order_id = ? AND r.product_id = products.id)
		WHERE id IN (SELECT product_id FROM reservation_items WHERE order_id = ?)`, orderID, orderID); err != nil {
		return false, fmt.Errorf("store: release %s: return stock: %w", orderID, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE reservations SET state = 'released', released_at = ? WHERE order_id = ?`,
		now.UnixMilli(), orderID); err != nil {
		return false, fmt.Errorf("store: release %s: %w", orderID, err)
	}
	return true, commit(tx, orderID)
}

func commit(tx *sql.Tx, orderID string) error {
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: release %s: commit: %w", orderID, err)
	}
	return nil
}

func reservedItems(ctx context.Context, tx *sql.Tx, orderID string) ([]ReservedItem, error) {
	rows, err := tx.QueryContext(ctx, `SELECT product_id, quantity, unit_price_cents FROM reservation_items
		WHERE order_id = ? ORDER BY line`, orderID)
	if err != nil {
		return nil, fmt.Errorf("store: read reservation %s: %w", orderID, err)
	}
	defer rows.Close()
	var out []ReservedItem
	for rows.Next() {
		var it ReservedItem
		if err := rows.Scan(&it.ProductID, &it.Quantity, &it.UnitPriceCents); err != nil {
			return nil, fmt.Errorf("store: read reservation %s: %w", orderID, err)
		}
		out = append(out, it)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: read reservation %s: %w", orderID, err)
	}
	return out, nil
}

func sameItems(reserved []ReservedItem, items []Item) bool {
	if len(reserved) != len(items) {
		return false
	}
	for i := range items {
		if reserved[i].ProductID != items[i].ProductID || reserved[i].Quantity != items[i].Quantity {
			return false
		}
	}
	return true
}
