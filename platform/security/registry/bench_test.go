package registry

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"
)

// BenchmarkGetService compares a lookup through the Registry with the same
// lookup on its inner client, to show the cost of the lock and delegation
// that make token switches safe. Both use the in-memory fake, so the numbers
// exclude Consul's own latency.
func BenchmarkGetService(b *testing.B) {
	clock := newFakeClock()
	consul := newFakeConsul()
	issuer := newFakeIssuer(clock, consul, "orders", time.Hour, 24*time.Hour)
	opts := Options{Service: "orders", Address: "127.0.0.1:8501", TLSConfig: testTLSConfig(),
		RegisterTTL: DefaultRegisterTTL, RegisterInterval: DefaultRegisterInterval}
	reg, err := start(context.Background(), opts, issuer, consul.build, clock,
		slog.New(slog.NewTextHandler(io.Discard, nil)), noJitter)
	if err != nil {
		b.Fatal(err)
	}
	defer reg.Close()
	if err := reg.Register(testService("orders", "orders-1")); err != nil {
		b.Fatal(err)
	}
	inner, _, _ := reg.current()

	b.Run("inner", func(b *testing.B) {
		for b.Loop() {
			if _, err := inner.GetService("orders"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("registry", func(b *testing.B) {
		for b.Loop() {
			if _, err := reg.GetService("orders"); err != nil {
				b.Fatal(err)
			}
		}
	})
}
