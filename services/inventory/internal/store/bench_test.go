package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

// BenchmarkReserveRelease measures one reservation of two items and its
// release: two write transactions with fsync, because synchronous=FULL.
func BenchmarkReserveRelease(b *testing.B) {
	s, err := Open(context.Background(), filepath.Join(b.TempDir(), "inventory.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	items := []Item{{ProductID: "sku-1001", Quantity: 1}, {ProductID: "sku-1003", Quantity: 1}}
	i := 0
	for b.Loop() {
		id := fmt.Sprintf("o%d", i)
		i++
		if _, err := s.Reserve(ctx, id, items, now); err != nil {
			b.Fatal(err)
		}
		if _, err := s.Release(ctx, id, now); err != nil {
			b.Fatal(err)
		}
	}
}
