package registry

import (
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	consulapi "github.com/hashicorp/consul/api"
	microregistry "go-micro.dev/v4/registry"
	"go-micro.dev/v4/selector"

	"github.com/bulwark-go/bulwark/internal/testenv"
)

// rotationTokenTTL is the ttl and max_ttl of the Consul role in the rotation
// test, so every token must be replaced within a minute.
const rotationTokenTTL = time.Minute

// TestIntegrationTokenRotation runs a service through three token rotations
// with one-minute leases. Throughout, its node must stay passing in the
// catalog and discoverable by a peer. After the rotations, a node that stops
// its heartbeats must turn critical in the catalog. That shows that the Consul
// agent syncs the node with a live token.
func TestIntegrationTokenRotation(t *testing.T) {
	const rotations = 3
	env := testenv.Start(t, testenv.Options{ConsulTokenTTL: rotationTokenTTL, ConsulTokenMaxTTL: rotationTokenTTL})
	logs := &testenv.SyncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	operator := operatorConsul(t, env)

	orders := newTestRegistry(t, env, "orders", log)
	users := newTestRegistry(t, env, "users", log)
	svc, nodeID, err := startService(t, orders, "orders")
	if err != nil {
		t.Fatalf("Start: %v", err)
	}

	// A second node of orders that the test heartbeats itself, so it can stop
	// the heartbeats without deregistering.
	silent := testService("orders", "orders-silent")
	stopHeartbeat := heartbeat(t, orders, silent)

	peer := selector.NewSelector(selector.Registry(users))
	defer func() { _ = peer.Close() }()

	tokens := map[string]Token{} // by accessor ID, of both services
	var order []string           // accessor IDs of orders, in rotation order
	record := func() {
		for _, r := range []*Registry{orders, users} {
			tok := r.Token()
			if _, ok := tokens[tok.AccessorID]; !ok {
				tokens[tok.AccessorID] = tok
				if r == orders {
					order = append(order, tok.AccessorID)
				}
			}
		}
	}

	record()
	deadline := time.Now().Add(rotations*rotationTokenTTL + 2*time.Minute)
	for len(order) <= rotations {
		if time.Now().After(deadline) {
			t.Fatalf("only %d rotations before the deadline", len(order)-1)
		}
		record()
		if got := catalogStatus(t, operator, "orders", nodeID); got != consulapi.HealthPassing {
			t.Fatalf("after %d rotations: catalog status of %s = %q, want passing", len(order)-1, nodeID, got)
		}
		next, err := peer.Select("orders")
		if err != nil {
			t.Fatalf("after %d rotations: users cannot select orders: %v", len(order)-1, err)
		}
		if node, err := next(); err != nil || node.Address == "" {
			t.Fatalf("after %d rotations: users selected %v, %v", len(order)-1, node, err)
		}
		for _, r := range []*Registry{orders, users} {
			if err := r.Err(); err != nil {
				t.Fatalf("after %d rotations: Err() = %v", len(order)-1, err)
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("orders used tokens %v", order)

	// Vault revoked the first token at the end of its lease, which deletes it
	// in Consul.
	if tok, _, err := operator.ACL().TokenRead(order[0], nil); err == nil && tok != nil {
		t.Errorf("the first token %s still exists in Consul", order[0])
	}

	stopHeartbeat()
	if !waitFor(testRegisterTTL+5*time.Second, func() bool {
		return catalogStatus(t, operator, "orders", "orders-silent") == consulapi.HealthCritical
	}) {
		t.Errorf("the node without heartbeats is still %q in the catalog",
			catalogStatus(t, operator, "orders", "orders-silent"))
	}
	_ = orders.Deregister(silent)

	if err := svc.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if !waitFor(2*time.Second, func() bool { return catalogStatus(t, operator, "orders", nodeID) == "" }) {
		t.Error("node still in the catalog 2s after Stop")
	}

	out := logs.String()
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "moved registrations to the new Consul client") {
			var record struct {
				Nodes int           `json:"nodes"`
				Took  time.Duration `json:"took"` // log/slog's JSON handler writes nanoseconds
			}
			if err := json.Unmarshal([]byte(line), &record); err == nil {
				t.Logf("token switch moved %d nodes in %s", record.Nodes, record.Took)
			}
		}
	}
	for _, tok := range tokens {
		if strings.Contains(out, tok.SecretID()) {
			t.Errorf("log output contains the secret ID of %s", tok)
		}
		if !strings.Contains(out, tok.AccessorID) {
			t.Errorf("log output lacks the accessor ID %s", tok.AccessorID)
		}
	}
}

// heartbeat registers svc through r every testRegisterInterval, as the
// go-micro server does, until the returned function is called.
func heartbeat(t *testing.T, r *Registry, svc *microregistry.Service) (stop func()) {
	t.Helper()
	if err := r.Register(svc, microregistry.RegisterTTL(testRegisterTTL)); err != nil {
		t.Fatalf("Register %s: %v", svc.Nodes[0].Id, err)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		ticker := time.NewTicker(testRegisterInterval)
		defer ticker.Stop()
		for {
			select {
			case <-done:
				return
			case <-ticker.C:
				if err := r.Register(svc, microregistry.RegisterTTL(testRegisterTTL)); err != nil {
					t.Errorf("heartbeat of %s: %v", svc.Nodes[0].Id, err)
				}
			}
		}
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			close(done)
			wg.Wait()
		})
	}
	t.Cleanup(stop)
	return stop
}
