package services_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	consulapi "github.com/hashicorp/consul/api"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/bulwark-go/bulwark/internal/testenv"
	"github.com/bulwark-go/bulwark/platform/security/pki"
	"github.com/bulwark-go/bulwark/platform/security/ratelimit/redisstore"
	"github.com/bulwark-go/bulwark/platform/security/vaultclient"
)

// TestSecuredStack runs the four service binaries against real Consul,
// Vault and Redis, bootstrapped like the local stack, and drives them
// through the gateway's HTTPS port only. The subtests share one stack and
// run in order. Each uses its own users and client addresses.
func TestSecuredStack(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Redis: true})
	bins := buildBinaries(t)
	st := startStack(t, env, bins)

	t.Run("order lifecycle", func(t *testing.T) { testOrderLifecycle(t, st) })
	t.Run("last item race", func(t *testing.T) { testLastItemRace(t, st) })
	t.Run("bad input", func(t *testing.T) { testBadInput(t, st) })
	t.Run("burst gets 429", func(t *testing.T) { testBurst(t, st) })
	t.Run("user burst gets 429", func(t *testing.T) { testUserBurst(t, st) })
	t.Run("login lockout from other addresses fails", func(t *testing.T) { testLoginLockout(t, st) })
	t.Run("login brute force from one address", func(t *testing.T) { testLoginBruteForce(t, st) })
	t.Run("login distributed guessing capped", func(t *testing.T) { testLoginDistributedCap(t, st) })
	t.Run("registration flood spares backend", func(t *testing.T) { testRegistrationFlood(t, st) })
	t.Run("registration crowd hits gateway budget", func(t *testing.T) { testRegistrationGlobalBudget(t, st) })
	t.Run("gateway requires TLS 1.2", func(t *testing.T) { testGatewayTLS(t, st) })
	t.Run("backend requires client certificate", func(t *testing.T) { testBackendRequiresClientCert(t, st) })
	t.Run("backend authorizes by identity", func(t *testing.T) { testBackendAuthorizesIdentity(t, st) })
	t.Run("orders restart keeps orders", func(t *testing.T) { testOrdersRestart(t, st) })
	t.Run("limits reload on SIGHUP", func(t *testing.T) { testLimitReload(t, st) })
	t.Run("no panic in service logs", func(t *testing.T) {
		for _, name := range serviceNames {
			log := st.services[name].logText(t)
			if strings.Contains(strings.ToLower(log), "panic") {
				t.Errorf("log of %s mentions a panic:\n%s", name, st.services[name].tail(40))
			}
		}
	})
	t.Run("no secret in service logs", func(t *testing.T) { testNoSecretInLogs(t, st) })
	t.Run("every service reaches Redis", func(t *testing.T) {
		// A service whose Redis user lacks a command or key falls back to
		// local limits and logs the failure, which fails this check.
		for _, name := range serviceNames {
			if log := st.services[name].logText(t); strings.Contains(log, "Redis unavailable") {
				t.Errorf("%s decided without Redis:\n%s", name, st.services[name].tail(20))
			}
		}
	})
	t.Run("data directories are private", func(t *testing.T) { testDataDirModes(t, st) })
	t.Run("SIGTERM stops every service", func(t *testing.T) { testStopAll(t, st) })
}

// waitFor polls cond every interval until it holds or timeout passes. The
// interval keeps polling below the gateway's per-address limit.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached within %v", what, timeout)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func testOrderLifecycle(t *testing.T, st *stack) {
	c := st.client(t)
	token := c.signUp("lifecycle")
	before := c.stock("sku-1004")

	placed := c.must("POST", "/v1/orders", token, `{"items":[{"product_id":"sku-1004","quantity":3}]}`, http.StatusCreated)
	id := orderID(t, placed)
	if got := c.stock("sku-1004"); got != before-3 {
		t.Errorf("stock after the order = %d, want %d", got, before-3)
	}

	got := c.must("GET", "/v1/orders/"+id, token, "", http.StatusOK)
	if orderID(t, got) != id {
		t.Errorf("GET /v1/orders/%s returned order %s", id, orderID(t, got))
	}
	listed := c.must("GET", "/v1/orders", token, "", http.StatusOK)
	if !strings.Contains(listed.raw, id) {
		t.Errorf("order %s missing from the list: %s", id, listed.raw)
	}

	// Another user cannot read the order.
	other := st.client(t)
	otherToken := other.signUp("other")
	if rsp := other.do("GET", "/v1/orders/"+id, otherToken, ""); rsp.status != http.StatusNotFound {
		t.Errorf("another user's GET of the order = %d %s, want 404", rsp.status, rsp.raw)
	}

	cancelled := c.must("POST", "/v1/orders/"+id+"/cancel", token, "", http.StatusOK)
	if s := orderStatus(cancelled); s != "cancelled" {
		t.Errorf("status after cancel = %q, want cancelled", s)
	}
	// order.cancelled goes through the outbox and the mTLS broker to
	// inventory, which returns the stock.
	waitFor(t, 30*time.Second, "stock returned after the cancel", func() bool { return c.stock("sku-1004") == before })
	// The stock can be back before the log line reaches the log file, so
	// the log gets its own wait.
	released := `"msg":"stock released","order_id":"` + id + `"`
	waitFor(t, 30*time.Second, "inventory's log of the release of order "+id, func() bool {
		return strings.Contains(st.services["inventory"].logText(t), released)
	})

	c.must("DELETE", "/v1/sessions/current", token, "", http.StatusNoContent)
	c.must("GET", "/v1/orders", token, "", http.StatusUnauthorized)
}

func testLastItemRace(t *testing.T, st *stack) {
	const product = "sku-1005" // the demo's single poster
	a, b := st.client(t), st.client(t)
	tokens := []string{a.signUp("race-a"), b.signUp("race-b")}
	clients := []*apiClient{a, b}
	if got := a.stock(product); got != 1 {
		t.Fatalf("stock of %s = %d, want 1 before the race", product, got)
	}

	results := make([]response, 2)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i] = clients[i].do("POST", "/v1/orders", tokens[i], `{"items":[{"product_id":"`+product+`","quantity":1}]}`)
		}()
	}
	close(start)
	wg.Wait()

	won, lost := 0, 0
	for _, r := range results {
		switch r.status {
		case http.StatusCreated:
			won++
		case http.StatusConflict:
			lost++
			if f := r.errorField(); f != "items[0].quantity" {
				t.Errorf("losing order's error field = %q, want items[0].quantity (%s)", f, r.raw)
			}
		default:
			t.Errorf("order status = %d %s, want 201 or 409", r.status, r.raw)
		}
	}
	if won != 1 || lost != 1 {
		t.Errorf("%d orders won and %d lost, want exactly one of each", won, lost)
	}
	if got := a.stock(product); got != 0 {
		t.Errorf("stock of %s after the race = %d, want 0", product, got)
	}
}

// badCase is one invalid request and the response it must get.
type badCase struct {
	desc, method, path string
	auth               bool   // send the test user's token
	contentType        string // default application/json
	body               string
	status             int
	field              string // expected error.field; empty means none is checked
}

func testBadInput(t *testing.T, st *stack) {
	token := st.client(t).signUp("bad-input")
	long := strings.Repeat("a", 300)
	huge := `{"email":"` + strings.Repeat("x", 1<<20) + `@example.com","password":"violet-harbor-31"}`
	tooManyItems := `{"items":[` + strings.TrimSuffix(strings.Repeat(`{"product_id":"sku-1001","quantity":1},`, 21), ",") + `]}`

	cases := []badCase{
		{"register malformed JSON", "POST", "/v1/users", false, "", `{"email":`, 400, ""},
		{"register missing email", "POST", "/v1/users", false, "", `{"password":"violet-harbor-31"}`, 400, "email"},
		{"register oversized email", "POST", "/v1/users", false, "", `{"email":"` + long + `@example.com","password":"violet-harbor-31"}`, 400, "email"},
		{"register oversized password", "POST", "/v1/users", false, "", `{"email":"pw@example.com","password":"` + strings.Repeat("p", 600) + `"}`, 400, "password"},
		{"register wrong type", "POST", "/v1/users", false, "", `{"email":5,"password":"violet-harbor-31"}`, 400, "email"},
		{"register unknown field", "POST", "/v1/users", false, "", `{"email":"u@example.com","password":"violet-harbor-31","admin":true}`, 400, "admin"},
		{"register huge body", "POST", "/v1/users", false, "", huge, 413, ""},
		{"register wrong content type", "POST", "/v1/users", false, "text/plain", `{}`, 415, ""},
		{"login malformed JSON", "POST", "/v1/sessions", false, "", `{"email":"a@example.com",}`, 400, ""},
		{"login missing password", "POST", "/v1/sessions", false, "", `{"email":"a@example.com"}`, 400, "password"},
		{"login wrong type", "POST", "/v1/sessions", false, "", `{"email":"a@example.com","password":["x"]}`, 400, "password"},
		{"login huge body", "POST", "/v1/sessions", false, "", huge, 413, ""},
		{"order without token", "POST", "/v1/orders", false, "", `{"items":[{"product_id":"sku-1001","quantity":1}]}`, 401, ""},
		{"order malformed JSON", "POST", "/v1/orders", true, "", `{"items":[`, 400, ""},
		{"order missing items", "POST", "/v1/orders", true, "", `{}`, 400, "items"},
		{"order zero quantity", "POST", "/v1/orders", true, "", `{"items":[{"product_id":"sku-1001","quantity":0}]}`, 400, "items[0].quantity"},
		{"order quantity as string", "POST", "/v1/orders", true, "", `{"items":[{"product_id":"sku-1001","quantity":"3"}]}`, 400, "items.quantity"},
		{"order oversized quantity", "POST", "/v1/orders", true, "", `{"items":[{"product_id":"sku-1001","quantity":100000}]}`, 400, "items[0].quantity"},
		{"order too many items", "POST", "/v1/orders", true, "", tooManyItems, 400, "items"},
		{"order unknown product", "POST", "/v1/orders", true, "", `{"items":[{"product_id":"sku-9999","quantity":1}]}`, 400, "items[0].product_id"},
		{"order oversized product id", "POST", "/v1/orders", true, "", `{"items":[{"product_id":"` + long + `","quantity":1}]}`, 400, "items[0].product_id"},
		{"order huge body", "POST", "/v1/orders", true, "", `{"items":[{"product_id":"` + strings.Repeat("s", 1<<20) + `","quantity":1}]}`, 413, ""},
		{"get malformed order id", "GET", "/v1/orders/not-an-id", true, "", "", 404, ""},
		{"cancel malformed order id", "POST", "/v1/orders/x'%20OR%201=1/cancel", true, "", "", 404, ""},
		{"orders with unknown token", "GET", "/v1/orders", false, "", "", 401, ""},
		{"logout without token", "DELETE", "/v1/sessions/current", false, "", "", 401, ""},
		{"unknown route", "GET", "/v1/admin", false, "", "", 404, ""},
		{"wrong method", "PUT", "/v1/products", false, "", `{}`, 405, ""},
	}
	for _, tc := range cases {
		t.Run(tc.desc, func(t *testing.T) {
			c := st.client(t)
			tok := ""
			if tc.auth {
				tok = token
			}
			if tc.desc == "orders with unknown token" {
				tok = "bm90LWEtc2Vzc2lvbi10b2tlbi1hdC1hbGwtc28tMDAx"
			}
			contentType := tc.contentType
			if contentType == "" {
				contentType = "application/json"
			}
			var rsp response
			if tc.body == "" {
				rsp = c.send(tc.method, tc.path, tok, nil, "")
			} else {
				rsp = c.send(tc.method, tc.path, tok, strings.NewReader(tc.body), contentType)
			}
			if rsp.status != tc.status {
				t.Fatalf("%s %s = %d %s, want %d", tc.method, tc.path, rsp.status, rsp.raw, tc.status)
			}
			if rsp.errorMessage() == "" {
				t.Errorf("response has no error message: %s", rsp.raw)
			}
			if tc.field != "" && rsp.errorField() != tc.field {
				t.Errorf("error field = %q, want %q (%s)", rsp.errorField(), tc.field, rsp.raw)
			}
		})
	}
}

func testBurst(t *testing.T, st *stack) {
	flooder, bystander := st.client(t), st.client(t)
	var rejected *response
	allowed := 0
	for range 30 {
		rsp := flooder.do("GET", "/v1/products", "", "")
		switch rsp.status {
		case http.StatusOK:
			allowed++
		case http.StatusTooManyRequests:
			if rejected == nil {
				rejected = &rsp
			}
		default:
			t.Fatalf("burst request = %d %s, want 200 or 429", rsp.status, rsp.raw)
		}
	}
	if rejected == nil {
		t.Fatalf("30 requests from one client got no 429 (%d allowed)", allowed)
	}
	if allowed == 0 {
		t.Error("the burst got no request through; the burst allowance is missing")
	}
	seconds, err := strconv.Atoi(rejected.header.Get("Retry-After"))
	if err != nil || seconds < 1 {
		t.Errorf("Retry-After = %q, want a whole number of seconds of at least 1", rejected.header.Get("Retry-After"))
	}
	// The rejection has the error format of every other gateway error.
	if code := rejected.errorValue("code"); code != "rate_limited" {
		t.Errorf("429 error.code = %q, want rate_limited (%s)", code, rejected.raw)
	}
	// Another client address has its own budget.
	bystander.must("GET", "/v1/products", "", "", http.StatusOK)

	// The rejections are counted on the gateway's admin listener.
	metrics, err := http.Get("http://" + st.services["gateway"].admin + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics of the gateway: %v", err)
	}
	body, err := io.ReadAll(metrics.Body)
	metrics.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(body), `bulwark_ratelimit_rejected_total{class="ip"`) {
		t.Error("gateway metrics have no rejected count for the ip class")
	}

	// The budgets live in Redis, shared by every gateway instance.
	rdb, err := redisstore.NewClient(redisstore.ClientOptions{Addr: st.env.RedisAddr, Username: st.env.RedisUsername,
		PasswordFile: st.env.RedisPasswordFile, TLS: st.env.RedisTLSConfig(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	keys, _, err := rdb.Scan(ctx, 0, redisstore.DefaultPrefix+"gateway:*", 1000).Result()
	if err != nil {
		t.Fatalf("scan Redis: %v", err)
	}
	if len(keys) == 0 {
		t.Errorf("Redis has no key under %sgateway:", redisstore.DefaultPrefix)
	}
}

func testUserBurst(t *testing.T, st *stack) {
	c := st.client(t)
	token := c.signUp("user-burst")
	c.rotate = true
	rejected := 0
	for range 30 {
		switch rsp := c.do("GET", "/v1/orders", token, ""); rsp.status {
		case http.StatusOK:
		case http.StatusTooManyRequests:
			rejected++
			if rsp.header.Get("Retry-After") == "" {
				t.Errorf("429 without Retry-After: %s", rsp.raw)
			}
		default:
			t.Fatalf("GET /v1/orders = %d %s, want 200 or 429", rsp.status, rsp.raw)
		}
	}
	if rejected == 0 {
		t.Error("30 requests of one user from 30 addresses got no 429")
	}
}

// testLimitReload lowers the per-address limit in the gateway's file, sends
// SIGHUP, and checks that the new limit applies without a restart. It puts
// the file back afterwards.
func testLimitReload(t *testing.T, st *stack) {
	gateway := st.services["gateway"]
	original, err := os.ReadFile(st.gatewayLimits)
	if err != nil {
		t.Fatal(err)
	}
	reload := func(content []byte, count int) {
		t.Helper()
		if err := os.WriteFile(st.gatewayLimits, content, 0o600); err != nil {
			t.Fatal(err)
		}
		gateway.mu.Lock()
		err := gateway.cmd.Process.Signal(syscall.SIGHUP)
		gateway.mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "gateway reloaded its limits", func() bool {
			return strings.Count(gateway.logText(t), `"msg":"rate limits reloaded"`) >= count
		})
	}
	before := strings.Count(gateway.logText(t), `"msg":"rate limits reloaded"`)
	lowered := strings.Replace(string(original), "ip: 10/s burst 20", "ip: 1/m burst 2", 1)
	if lowered == string(original) {
		t.Fatal("gateway.yaml has no line ip: 10/s burst 20 to lower")
	}
	reload([]byte(lowered), before+1)
	defer reload(original, before+2)

	c := st.client(t)
	c.must("GET", "/v1/products", "", "", http.StatusOK)
	c.must("GET", "/v1/products", "", "", http.StatusOK)
	c.must("GET", "/v1/products", "", "", http.StatusTooManyRequests)
}

// testStopAll stops every service with SIGTERM, the gateway first, and
// checks that each exits 0 and leaves Consul's catalog.
func testStopAll(t *testing.T, st *stack) {
	consul := consulClient(t, st.env)
	for _, name := range []string{"gateway", "orders", "users", "inventory"} {
		s := st.services[name]
		if err := s.terminate(t); err != nil {
			t.Errorf("%s exited with %v after SIGTERM, want status 0\n%s", name, err, s.tail(20))
		}
		if got := instances(t, consul, name); len(got) != 0 {
			t.Errorf("%s instances in Consul after SIGTERM = %v, want none", name, got)
		}
	}
	if got := instances(t, consul, "micro.http.broker"); len(got) != 0 {
		t.Errorf("broker subscriptions in Consul after SIGTERM = %v, want none", got)
	}
}

// consulClient returns a Consul API client with the operator certificate
// and the management token.
func consulClient(t *testing.T, env *testenv.Env) *consulapi.Client {
	t.Helper()
	token, err := os.ReadFile(env.ConsulManagementTokenFile)
	if err != nil {
		t.Fatal(err)
	}
	client, err := consulapi.NewClient(&consulapi.Config{
		Address: env.ConsulAddr,
		Scheme:  "https",
		Token:   strings.TrimSpace(string(token)),
		HttpClient: &http.Client{
			Timeout:   10 * time.Second,
			Transport: &http.Transport{TLSClientConfig: env.OperatorTLSConfig(t)},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return client
}

// instances returns the addresses of a service's instances in Consul's
// catalog.
func instances(t *testing.T, c *consulapi.Client, name string) []string {
	t.Helper()
	entries, _, err := c.Catalog().Service(name, "", nil)
	if err != nil {
		t.Fatalf("Consul catalog of %s: %v", name, err)
	}
	var addrs []string
	for _, e := range entries {
		addrs = append(addrs, fmt.Sprintf("%s:%d", e.ServiceAddress, e.ServicePort))
	}
	return addrs
}

func testBackendRequiresClientCert(t *testing.T, st *stack) {
	addrs := instances(t, consulClient(t, st.env), "orders")
	if len(addrs) != 1 {
		t.Fatalf("orders instances in Consul = %v, want one", addrs)
	}
	// The handshake verifies the server and offers no client certificate.
	conn, err := tls.Dial("tcp", addrs[0], &tls.Config{
		RootCAs:    st.env.CAPool,
		ServerName: "orders.service.bulwark.internal",
		NextProtos: []string{"h2"},
		MinVersion: tls.VersionTLS12,
	})
	if err != nil {
		t.Fatalf("TLS handshake with orders: %v", err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	// With TLS 1.3 the server checks the client's certificate after the
	// client's handshake ends, so its rejection arrives on the first read.
	_, _ = conn.Write([]byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"))
	_, err = conn.Read(make([]byte, 1))
	if err == nil {
		t.Fatal("orders answered a connection without a client certificate")
	}
	if !strings.Contains(err.Error(), "certificate required") {
		t.Errorf("read error = %v, want the TLS alert certificate required", err)
	}
}

func testOrdersRestart(t *testing.T, st *stack) {
	consul := consulClient(t, st.env)
	c := st.client(t)
	token := c.signUp("restart")
	placed := c.must("POST", "/v1/orders", token, `{"items":[{"product_id":"sku-1003","quantity":2}]}`, http.StatusCreated)
	id := orderID(t, placed)

	orders := st.services["orders"]
	if err := orders.terminate(t); err != nil {
		t.Fatalf("orders exited with %v after SIGTERM, want status 0\n%s", err, orders.tail(20))
	}
	if got := instances(t, consul, "orders"); len(got) != 0 {
		t.Errorf("orders instances in Consul after SIGTERM = %v, want none", got)
	}
	if !strings.Contains(orders.logText(t), `"msg":"deregistered from Consul"`) {
		t.Error("orders log has no deregistration")
	}
	if rsp := c.do("GET", "/v1/orders/"+id, token, ""); rsp.status < 500 {
		t.Errorf("GET of an order while orders is down = %d %s, want a 5xx", rsp.status, rsp.raw)
	}

	orders.start(t)
	orders.waitReady(t)
	if got := instances(t, consul, "orders"); len(got) != 1 {
		t.Errorf("orders instances in Consul after the restart = %v, want one", got)
	}
	// The gateway's selector may still cache the old address for a moment.
	waitFor(t, 30*time.Second, "order readable after the restart", func() bool {
		return c.do("GET", "/v1/orders/"+id, token, "").status == http.StatusOK
	})
	got := c.must("GET", "/v1/orders/"+id, token, "", http.StatusOK)
	if s := orderStatus(got); s != orderStatus(placed) {
		t.Errorf("status after the restart = %q, want %q", s, orderStatus(placed))
	}
	c.must("POST", "/v1/orders", token, `{"items":[{"product_id":"sku-1003","quantity":1}]}`, http.StatusCreated)
}

// jsonCodec lets a plain gRPC client speak the go-micro server's JSON codec.
type jsonCodec struct{}

func (jsonCodec) Marshal(v any) ([]byte, error)   { return json.Marshal(v) }
func (jsonCodec) Unmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
func (jsonCodec) Name() string                    { return "json" }

// serviceCertificate logs in to Vault with a service's AppRole and issues
// its certificate, as the service itself does at start.
func serviceCertificate(t *testing.T, env *testenv.Env, name string) *tls.Certificate {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	role := env.AppRoles[name]
	vc, err := vaultclient.New(ctx, vaultclient.Config{
		Address: env.VaultAddr, CAFile: env.CAFile, RoleIDFile: role.RoleIDFile, SecretIDFile: role.SecretIDFile,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatalf("log in to Vault as %s: %v", name, err)
	}
	defer vc.Close()
	issuer, err := pki.NewVaultIssuer(vc.API(), name)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := issuer.Issue(ctx)
	if err != nil {
		t.Fatalf("issue the certificate of %s: %v", name, err)
	}
	return cert
}

// callInventory calls an inventory endpoint with a plain gRPC client that
// presents cert.
func callInventory(t *testing.T, addr string, roots *x509.CertPool, cert *tls.Certificate, method string) error {
	t.Helper()
	creds := credentials.NewTLS(&tls.Config{
		RootCAs:      roots,
		ServerName:   "inventory.service.bulwark.internal",
		Certificates: []tls.Certificate{*cert},
		MinVersion:   tls.VersionTLS12,
	})
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var rsp map[string]any
	return conn.Invoke(ctx, "/inventory.Inventory/"+method, map[string]any{}, &rsp, grpc.ForceCodec(jsonCodec{}))
}

func testBackendAuthorizesIdentity(t *testing.T, st *stack) {
	addrs := instances(t, consulClient(t, st.env), "inventory")
	if len(addrs) != 1 {
		t.Fatalf("inventory instances in Consul = %v, want one", addrs)
	}
	gateway := serviceCertificate(t, st.env, "gateway")
	users := serviceCertificate(t, st.env, "users")

	if err := callInventory(t, addrs[0], st.env.CAPool, gateway, "ListProducts"); err != nil {
		t.Fatalf("gateway calling Inventory.ListProducts: %v", err)
	}
	// Only orders may reserve stock.
	if err := callInventory(t, addrs[0], st.env.CAPool, gateway, "Reserve"); status.Code(err) != codes.PermissionDenied {
		t.Errorf("gateway calling Inventory.Reserve = %v, want PermissionDenied", err)
	}
	// users may call no inventory endpoint.
	if err := callInventory(t, addrs[0], st.env.CAPool, users, "ListProducts"); status.Code(err) != codes.PermissionDenied {
		t.Errorf("users calling Inventory.ListProducts = %v, want PermissionDenied", err)
	}
}

func testGatewayTLS(t *testing.T, st *stack) {
	addr := strings.TrimPrefix(st.gatewayURL, "https://")
	old := &tls.Config{RootCAs: st.env.CAPool, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}
	if conn, err := tls.Dial("tcp", addr, old); err == nil {
		conn.Close()
		t.Error("the gateway accepted a TLS 1.1 handshake")
	}
	current := &tls.Config{RootCAs: st.env.CAPool, MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12}
	conn, err := tls.Dial("tcp", addr, current)
	if err != nil {
		t.Fatalf("TLS 1.2 handshake with the gateway: %v", err)
	}
	conn.Close()

	rsp, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + addr + "/v1/products")
	if err != nil {
		t.Fatalf("plain HTTP to the gateway: %v", err)
	}
	rsp.Body.Close()
	if rsp.StatusCode != http.StatusBadRequest {
		t.Errorf("plain HTTP to the gateway = %d, want 400", rsp.StatusCode)
	}
}

// testNoSecretInLogs reads every secret a service holds (its AppRole
// secret_id and role_id, the Redis password) and checks that no service
// log contains one.
func testNoSecretInLogs(t *testing.T, st *stack) {
	secrets := map[string]string{}
	read := func(what, path string) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		secrets[what] = strings.TrimSpace(string(data))
	}
	for _, name := range serviceNames {
		read(name+" secret_id", st.env.AppRoles[name].SecretIDFile)
		read(name+" role_id", st.env.AppRoles[name].RoleIDFile)
	}
	read("Redis operator password", st.env.RedisPasswordFile)
	for _, name := range serviceNames {
		read(name+" Redis password", st.env.RedisUsers[name].PasswordFile)
	}
	for _, name := range serviceNames {
		log := st.services[name].logText(t)
		for what, secret := range secrets {
			if len(secret) < 8 {
				t.Fatalf("%s is only %d bytes; the check needs a real secret", what, len(secret))
			}
			if strings.Contains(log, secret) {
				t.Errorf("log of %s contains the %s", name, what)
			}
		}
	}
}

// testDataDirModes checks that each database directory was created with
// mode 0700 and each database file with mode 0600.
func testDataDirModes(t *testing.T, st *stack) {
	for _, name := range []string{"users", "orders", "inventory"} {
		dir := filepath.Join(st.env.Dir, "data", name)
		info, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if mode := info.Mode().Perm(); mode != 0o700 {
			t.Errorf("%s has mode %o, want 700", dir, mode)
		}
		db := filepath.Join(dir, name+".db")
		info, err = os.Stat(db)
		if err != nil {
			t.Fatal(err)
		}
		if mode := info.Mode().Perm(); mode != 0o600 {
			t.Errorf("%s has mode %o, want 600", db, mode)
		}
	}
}
