package redisstore

import (
	"context"
	"strconv"
	"testing"

	"github.com/bulwark-go/bulwark/internal/testenv"
	"github.com/bulwark-go/bulwark/platform/security/ratelimit"
)

// BenchmarkTake compares a decision in memory with one on a real Redis on
// loopback over TLS 1.3 (the harness's only Redis port), serially and from
// parallel goroutines, over 10,000 keys.
func BenchmarkTake(b *testing.B) {
	env := testenv.Start(b, testenv.Options{Redis: true})
	client, err := NewClient(ClientOptions{Addr: env.RedisAddr, Username: env.RedisUsers["gateway"].Username,
		PasswordFile: env.RedisUsers["gateway"].PasswordFile, TLS: env.RedisTLSConfig(b)})
	if err != nil {
		b.Fatal(err)
	}
	defer client.Close()
	redisStore, err := New(Options{Client: client, Prefix: DefaultPrefix + "gateway:bench:", OnError: FailClosed})
	if err != nil {
		b.Fatal(err)
	}
	memory, err := ratelimit.NewMemory[ratelimit.Key](ratelimit.MemoryOptions{})
	if err != nil {
		b.Fatal(err)
	}
	limit := ratelimit.PerSecond(1_000_000, ratelimit.MaxBurst)
	keys := make([]ratelimit.Key, 10_000)
	for i := range keys {
		keys[i] = ratelimit.Key{Scope: "Orders.Create", Subject: "client-" + strconv.Itoa(i)}
	}
	ctx := context.Background()
	for _, store := range []struct {
		name  string
		store ratelimit.Store
	}{{"memory", memory}, {"redis", redisStore}} {
		b.Run(store.name+"/serial", func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				res, err := store.store.Take(ctx, keys[i%len(keys)], limit, 0)
				if err != nil || !res.Allowed {
					b.Fatalf("Take = %+v, %v", res, err)
				}
				i++
			}
		})
		b.Run(store.name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					if _, err := store.store.Take(ctx, keys[i%len(keys)], limit, 0); err != nil {
						b.Error(err)
						return
					}
					i++
				}
			})
		})
	}
}
