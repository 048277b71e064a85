package store

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func openStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "inventory.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func stock(t *testing.T, s *Store, id string) int64 {
	t.Helper()
	p, err := s.Product(context.Background(), id)
	if err != nil {
		t.Fatalf("Product(%s): %v", id, err)
	}
	return p.Stock
}

func TestSeededProducts(t *testing.T) {
	s := openStore(t)
	products, err := s.ListProducts(context.Background())
	if err != nil {
		t.Fatalf("ListProducts: %v", err)
	}
	if len(products) != 5 {
		t.Fatalf("products = %d, want 5 demo products", len(products))
	}
	if products[0].ID != "sku-1001" || products[0].PriceCents != 1899 || products[0].Stock != 40 {
		t.Errorf("first product = %+v", products[0])
	}
	if _, err := s.Product(context.Background(), "sku-9999"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Product(unknown) = %v, want ErrNotFound", err)
	}
}

func TestReserveTakesStock(t *testing.T) {
	s := openStore(t)
	items := []Item{{ProductID: "sku-1001", Quantity: 3}, {ProductID: "sku-1002", Quantity: 1}}
	got, err := s.Reserve(context.Background(), "o1", items, now)
	if err != nil {
		t.Fatalf("Reserve: %v", err)
	}
	if len(got) != 2 || got[0].UnitPriceCents != 1899 || got[1].UnitPriceCents != 1250 {
		t.Errorf("reserved = %+v", got)
	}
	if n := stock(t, s, "sku-1001"); n != 37 {
		t.Errorf("stock of sku-1001 = %d, want 37", n)
	}
	if n := stock(t, s, "sku-1002"); n != 24 {
		t.Errorf("stock of sku-1002 = %d, want 24", n)
	}
}

func TestReserveAllOrNothing(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	tests := []struct {
		desc    string
		items   []Item
		wantErr error
		index   int
	}{
		{desc: "second short", items: []Item{{"sku-1001", 5}, {"sku-1005", 2}}, wantErr: ErrInsufficientStock, index: 1},
		{desc: "third unknown", items: []Item{{"sku-1001", 5}, {"sku-1002", 1}, {"sku-0000", 1}},
			wantErr: ErrUnknownProduct, index: 2},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			_, err := s.Reserve(ctx, "o-"+tt.desc, tt.items, now)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Reserve = %v, want %v", err, tt.wantErr)
			}
			var itemErr *ItemError
			if !errors.As(err, &itemErr) || itemErr.Index != tt.index {
				t.Fatalf("Reserve error = %v, want an ItemError for index %d", err, tt.index)
			}
			if n := stock(t, s, "sku-1001"); n != 40 {
				t.Errorf("stock of sku-1001 = %d after a failed reservation, want 40", n)
			}
			// A failed reservation records nothing, so the order can retry.
			if _, err := s.Reserve(ctx, "o-"+tt.desc, []Item{{"sku-1003", 1}}, now); err != nil {
				t.Errorf("retry after failure: %v", err)
			}
		})
	}
}

func TestReserveIdempotent(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	items := []Item{{ProductID: "sku-1001", Quantity: 2}}
	for i := range 3 {
		if _, err := s.Reserve(ctx, "o1", items, now); err != nil {
			t.Fatalf("Reserve #%d: %v", i+1, err)
		}
	}
	if n := stock(t, s, "sku-1001"); n != 38 {
		t.Errorf("stock = %d after three reservations of one order, want 38", n)
	}
	if _, err := s.Reserve(ctx, "o1", []Item{{ProductID: "sku-1001", Quantity: 3}}, now); !errors.Is(err, ErrMismatch) {
		t.Errorf("Reserve(other items) = %v, want ErrMismatch", err)
	}
}

func TestReleaseIdempotent(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	items := []Item{{ProductID: "sku-1001", Quantity: 2}, {ProductID: "sku-1004", Quantity: 5}}
	if _, err := s.Reserve(ctx, "o1", items, now); err != nil {
		t.Fatal(err)
	}
	released, err := s.Release(ctx, "o1", now)
	if err != nil || !released {
		t.Fatalf("Release = (%v, %v), want (true, nil)", released, err)
	}
	released, err = s.Release(ctx, "o1", now)
	if err != nil || released {
		t.Fatalf("second Release = (%v, %v), want (false, nil)", released, err)
	}
	if n := stock(t, s, "sku-1001"); n != 40 {
		t.Errorf("stock of sku-1001 = %d, want 40", n)
	}
	if n := stock(t, s, "sku-1004"); n != 15 {
		t.Errorf("stock of sku-1004 = %d, want 15", n)
	}
	if _, err := s.Reserve(ctx, "o1", items, now); !errors.Is(err, ErrReleased) {
		t.Errorf("Reserve after Release = %v, want ErrReleased", err)
	}
}

func TestReleaseBeforeReserve(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	released, err := s.Release(ctx, "o1", now)
	if err != nil || released {
		t.Fatalf("Release(unknown) = (%v, %v), want (false, nil)", released, err)
	}
	if _, err := s.Reserve(ctx, "o1", []Item{{ProductID: "sku-1001", Quantity: 1}}, now); !errors.Is(err, ErrReleased) {
		t.Errorf("Reserve after early Release = %v, want ErrReleased", err)
	}
	if n := stock(t, s, "sku-1001"); n != 40 {
		t.Errorf("stock = %d, want 40", n)
	}
}

func TestStockNeverNegative(t *testing.T) {
	s := openStore(t)
	_, err := s.DB().Exec(`UPDATE products SET stock = -1 WHERE id = 'sku-1001'`)
	if err == nil {
		t.Fatal("setting negative stock succeeded; the CHECK constraint is missing")
	}
}

func TestConcurrentReleaseOnce(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	if _, err := s.Reserve(ctx, "o1", []Item{{ProductID: "sku-1002", Quantity: 4}}, now); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	count := 0
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			released, err := s.Release(ctx, "o1", now)
			if err != nil {
				t.Errorf("Release: %v", err)
				return
			}
			if released {
				mu.Lock()
				count++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if count != 1 {
		t.Errorf("releases that returned stock = %d, want 1", count)
	}
	if n := stock(t, s, "sku-1002"); n != 25 {
		t.Errorf("stock = %d, want 25", n)
	}
}
