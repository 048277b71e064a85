package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/bulwark-go/bulwark/services/internal/sqlitedb"
)

var migrations = []string{`
CREATE TABLE products (
	id          TEXT PRIMARY KEY,
	name        TEXT NOT NULL,
	price_cents INTEGER NOT NULL CHECK (price_cents >= 0),
	stock       INTEGER NOT NULL CHECK (stock >= 0)
);
CREATE TABLE reservations (
	order_id    TEXT PRIMARY KEY,
	state       TEXT NOT NULL CHECK (state IN ('reserved', 'released')),
	created_at  INTEGER NOT NULL,
	released_at INTEGER
);
CREATE TABLE reservation_items (
	order_id         TEXT NOT NULL REFERENCES reservations(order_id),
	line             INTEGER NOT NULL,
	product_id       TEXT NOT NULL REFERENCES products(id),
	quantity         INTEGER NOT NULL CHECK (quantity > 0),
	unit_price_cents INTEGER NOT NULL,
	PRIMARY KEY (order_id, line)
);
`, `
INSERT INTO products (id, name, price_cents, stock) VALUES
	('sku-1001', 'Steel water bottle', 1899, 40),
	('sku-1002', 'Canvas tote bag', 1250, 25),
	('sku-1003', 'Enamel camping mug', 999, 60),
	('sku-1004', 'Wool beanie', 2200, 15),
	('sku-1005', 'Limited edition poster', 4500, 1);
`}

// Product is a product row.
type Product struct {
	ID         string
	Name       string
	PriceCents int64
	Stock      int64
}

var (
	// ErrNotFound is returned when no product matches.
	ErrNotFound = errors.New("store: not found")
)

// Store is the inventory database. It is safe for concurrent use.
type Store struct {
	db *sql.DB
}

// Open opens or creates the database at path. A new database starts with the
// demo products of the second schema step.
func Open(ctx context.Context, path string) (*Store, error) {
	db, err := sqlitedb.Open(ctx, sqlitedb.Options{Path: path, Migrations: migrations})
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return &Store{db: db}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// DB returns the underlying pool, for tests that inspect or change rows.
func (s *Store) DB() *sql.DB { return s.db }

// ListProducts returns all products ordered by id.
func (s *Store) ListProducts(ctx context.Context) ([]Product, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, name, price_cents, stock FROM products ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("store: list products: %w", err)
	}
	defer rows.Close()
	var out []Product
	for rows.Next() {
		var p Product
		if err := rows.Scan(&p.ID, &p.Name, &p.PriceCents, &p.Stock); err != nil {
			return nil, fmt.Errorf("store: list products: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list products: %w", err)
	}
	return out, nil
}

// Product returns one product, or ErrNotFound.
func (s *Store) Product(ctx context.Context, id string) (Product, error) {
	p := Product{ID: id}
	err := s.db.QueryRowContext(ctx, `SELECT name, price_cents, stock FROM products WHERE id = ?`, id).
		Scan(&p.Name, &p.PriceCents, &p.Stock)
	if errors.Is(err, sql.ErrNoRows) {
		return Product{}, ErrNotFound
	}
	if err != nil {
		return Product{}, fmt.Errorf("store: read product %s: %w", id, err)
	}
	return p, nil
}
