package e2e

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	grpcclient "github.com/go-micro/plugins/v4/client/grpc"
	grpcserver "github.com/go-micro/plugins/v4/server/grpc"
	"go-micro.dev/v4/broker"
	"go-micro.dev/v4/client"
	"go-micro.dev/v4/registry"
	"go-micro.dev/v4/selector"
	"go-micro.dev/v4/server"

	"github.com/bulwark-go/bulwark/services/gateway/httpapi"
	"github.com/bulwark-go/bulwark/services/internal/rpc"
	inventoryclient "github.com/bulwark-go/bulwark/services/inventory/client"
	"github.com/bulwark-go/bulwark/services/inventory/inventorytest"
	ordersapi "github.com/bulwark-go/bulwark/services/orders/api"
	ordersclient "github.com/bulwark-go/bulwark/services/orders/client"
	"github.com/bulwark-go/bulwark/services/orders/orderstest"
	usersclient "github.com/bulwark-go/bulwark/services/users/client"
	"github.com/bulwark-go/bulwark/services/users/userstest"
)

// mesh is the in-memory registry and broker that all services share.
type mesh struct {
	reg registry.Registry
	brk broker.Broker
}

// serve starts a go-micro gRPC server named name on a loopback port with
// handler and the given subscribers, and stops it when t ends. Each server
// gets its own id, because two servers in one process would otherwise share
// server.DefaultId.
func (m mesh) serve(t *testing.T, name string, handler any, subscribe func(server.Server) error) {
	t.Helper()
	srv := grpcserver.NewServer(
		server.Name(name),
		server.Id(name+"-e2e"),
		server.Address("127.0.0.1:0"),
		server.Registry(m.reg),
		server.Broker(m.brk),
	)
	if err := srv.Handle(srv.NewHandler(handler)); err != nil {
		t.Fatalf("%s: Handle: %v", name, err)
	}
	if subscribe != nil {
		if err := subscribe(srv); err != nil {
			t.Fatalf("%s: Subscribe: %v", name, err)
		}
	}
	if err := srv.Start(); err != nil {
		t.Fatalf("%s: Start: %v", name, err)
	}
	t.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			t.Errorf("%s: Stop: %v", name, err)
		}
	})
}

// client returns a go-micro gRPC client with its own selector, because all
// clients otherwise share selector.DefaultSelector.
func (m mesh) client() client.Client {
	return grpcclient.NewClient(
		client.Registry(m.reg),
		client.Broker(m.brk),
		client.Selector(selector.NewSelector(selector.Registry(m.reg))),
		client.ContentType(rpc.ContentType),
		client.RequestTimeout(10*time.Second),
	)
}

// must returns v, or panics on err: the constructors below fail only on a
// nil go-micro client.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// startStack runs users, inventory, orders and the gateway and returns the
// gateway's URL.
func startStack(t *testing.T) string {
	t.Helper()
	m := mesh{reg: registry.NewMemoryRegistry(), brk: broker.NewMemoryBroker()}
	if err := m.brk.Connect(); err != nil {
		t.Fatal(err)
	}

	m.serve(t, "users", userstest.New(t).Handler, nil)

	inv := inventorytest.New(t)
	m.serve(t, "inventory", inv.Handler, func(srv server.Server) error {
		if err := srv.Subscribe(srv.NewSubscriber(ordersapi.TopicOrderPlaced, inv.Events.HandlePlaced)); err != nil {
			return err
		}
		return srv.Subscribe(srv.NewSubscriber(ordersapi.TopicOrderCancelled, inv.Events.HandleCancelled))
	})

	publisher := must(rpc.NewPublisher(m.client()))
	orders := orderstest.New(t, must(inventoryclient.New(m.client())), publisher)
	m.serve(t, "orders", orders.Handler, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { orders.Relay.Run(ctx, time.Second); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	gw, err := httpapi.NewHandler(httpapi.Config{Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, httpapi.Backends{
		Users:    must(usersclient.New(m.client())),
		Orders:   must(ordersclient.New(m.client())),
		Products: must(inventoryclient.New(m.client())),
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(gw)
	t.Cleanup(ts.Close)
	return ts.URL
}

// call sends one JSON request to the gateway and decodes the response.
func call(t *testing.T, method, url, token, body string, want int) map[string]any {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rsp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer rsp.Body.Close()
	raw, err := io.ReadAll(rsp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if rsp.StatusCode != want {
		t.Fatalf("%s %s = %d %s, want %d", method, url, rsp.StatusCode, raw, want)
	}
	out := map[string]any{}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: body %q: %v", method, url, raw, err)
		}
	}
	return out
}

func stock(t *testing.T, base, productID string) float64 {
	t.Helper()
	rsp := call(t, "GET", base+"/v1/products", "", "", 200)
	for _, p := range rsp["products"].([]any) {
		product := p.(map[string]any)
		if product["id"] == productID {
			return product["stock"].(float64)
		}
	}
	t.Fatalf("product %s not listed", productID)
	return 0
}

func TestOrderLifecycle(t *testing.T) {
	base := startStack(t)

	call(t, "POST", base+"/v1/users", "", `{"email":"ann@example.com","password":"violet-harbor-31"}`, 201)
	session := call(t, "POST", base+"/v1/sessions", "", `{"email":"ann@example.com","password":"violet-harbor-31"}`, 201)
	token := session["token"].(string)
	call(t, "POST", base+"/v1/sessions", "", `{"email":"ann@example.com","password":"wrong-password-1"}`, 401)

	if got := stock(t, base, "sku-1004"); got != 15 {
		t.Fatalf("initial stock = %v, want 15", got)
	}
	placed := call(t, "POST", base+"/v1/orders", token, `{"items":[{"product_id":"sku-1004","quantity":3}]}`, 201)
	order := placed["order"].(map[string]any)
	id := order["id"].(string)
	if order["total_cents"] != float64(6600) {
		t.Errorf("total = %v, want 6600", order["total_cents"])
	}
	if got := stock(t, base, "sku-1004"); got != 12 {
		t.Fatalf("stock after the order = %v, want 12", got)
	}

	// Errors keep their status and field across the go-micro hops.
	call(t, "POST", base+"/v1/orders", token, `{"items":[{"product_id":"sku-1005","quantity":2}]}`, 409)
	bad := call(t, "POST", base+"/v1/orders", token, `{"items":[{"product_id":"sku-9999","quantity":1}]}`, 400)
	if field := bad["error"].(map[string]any)["field"]; field != "items[0].product_id" {
		t.Errorf("unknown product field = %v, want items[0].product_id", field)
	}

	listed := call(t, "GET", base+"/v1/orders", token, "", 200)
	if n := len(listed["orders"].([]any)); n != 1 {
		t.Errorf("orders listed = %d, want 1", n)
	}

	cancelled := call(t, "POST", base+"/v1/orders/"+id+"/cancel", token, "", 200)
	if status := cancelled["order"].(map[string]any)["status"]; status != "cancelled" {
		t.Errorf("status = %v, want cancelled", status)
	}

	// order.cancelled travels through the outbox, the broker and the
	// inventory subscriber; wait for its effect, bounded.
	deadline := time.Now().Add(15 * time.Second)
	for stock(t, base, "sku-1004") != 15 {
		if time.Now().After(deadline) {
			t.Fatalf("stock = %v 15s after the cancel, want 15", stock(t, base, "sku-1004"))
		}
		time.Sleep(20 * time.Millisecond)
	}

	got := call(t, "GET", base+"/v1/orders/"+id, token, "", 200)
	if status := got["order"].(map[string]any)["status"]; status != "cancelled" {
		t.Errorf("status after the event = %v, want cancelled", status)
	}

	call(t, "DELETE", base+"/v1/sessions/current", token, "", 204)
	call(t, "GET", base+"/v1/orders", token, "", 401)
}
