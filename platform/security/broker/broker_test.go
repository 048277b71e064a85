package broker_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mbroker "go-micro.dev/v4/broker"
	"go-micro.dev/v4/registry"

	"github.com/bulwark-go/bulwark/platform/security/authz"
	"github.com/bulwark-go/bulwark/platform/security/broker"
	"github.com/bulwark-go/bulwark/platform/security/internal/clock"
	"github.com/bulwark-go/bulwark/platform/security/mtls"
	"github.com/bulwark-go/bulwark/platform/security/pki"
	"github.com/bulwark-go/bulwark/platform/security/pki/pkitest"
)

const policyYAML = `
services: [gateway, orders, inventory, users]
topics:
  order.placed:
    publishers: [orders]
    subscribers: [inventory]
`

type world struct {
	ca     *pkitest.CA
	policy *authz.Policy
	reg    registry.Registry
	logs   *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newWorld(t *testing.T) *world {
	p, err := authz.Parse("policy.yaml", []byte(policyYAML))
	if err != nil {
		t.Fatal(err)
	}
	return &world{ca: pkitest.NewCA(t), policy: p, reg: registry.NewMemoryRegistry(), logs: &syncBuffer{}}
}

func (w *world) source(t *testing.T, ca *pkitest.CA, service string) *pki.Source {
	t.Helper()
	src, err := pki.NewSource(context.Background(), pki.Config{
		Service: service,
		Issuer:  ca.Issuer(t, service, time.Hour, time.Now),
		Bundle:  pki.NewBundle(w.ca.Root),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(src.Close)
	return src
}

func (w *world) broker(t *testing.T, service string) *broker.Broker {
	t.Helper()
	return w.brokerFrom(t, w.ca, service)
}

func (w *world) brokerFrom(t *testing.T, ca *pkitest.CA, service string) *broker.Broker {
	t.Helper()
	b, err := broker.New(broker.Config{
		Service:  service,
		Source:   w.source(t, ca, service),
		Policy:   w.policy,
		Registry: w.reg,
		Address:  "127.0.0.1:0",
		Logger:   slog.New(slog.NewJSONHandler(w.logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Connect(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Disconnect() })
	return b
}

// subscribe subscribes inventory to order.placed and returns the channel of
// received messages.
func subscribe(t *testing.T, b *broker.Broker) <-chan *mbroker.Message {
	t.Helper()
	got := make(chan *mbroker.Message, 10)
	_, err := b.Subscribe("order.placed", func(e mbroker.Event) error {
		got <- e.Message()
		return nil
	})
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	return got
}

func TestPublishArrivesWithPublisher(t *testing.T) {
	w := newWorld(t)
	got := subscribe(t, w.broker(t, "inventory"))
	orders := w.broker(t, "orders")
	err := orders.Publish("order.placed", &mbroker.Message{
		Header: map[string]string{"Content-Type": "application/json", "bulwark-verified-publisher": "gateway"},
		Body:   []byte(`{"id":1}`),
	})
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
	select {
	case m := <-got:
		if m.Header[broker.PublisherHeader] != "orders" {
			t.Fatalf("publisher header = %q, want orders", m.Header[broker.PublisherHeader])
		}
		if _, forged := m.Header["bulwark-verified-publisher"]; forged {
			t.Fatal("forged publisher header reached the subscriber")
		}
		if string(m.Body) != `{"id":1}` {
			t.Fatalf("body = %q", m.Body)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("message did not arrive")
	}
}

func TestPublishDeniedForOtherService(t *testing.T) {
	w := newWorld(t)
	got := subscribe(t, w.broker(t, "inventory"))
	gateway := w.broker(t, "gateway")
	if err := gateway.Publish("order.placed", &mbroker.Message{Body: []byte("x")}); err == nil {
		t.Fatal("gateway published order.placed")
	}
	select {
	case <-got:
		t.Fatal("message from gateway arrived")
	case <-time.After(100 * time.Millisecond):
	}
}

// subscriberURL returns the https URL of the only order.placed subscriber.
func subscriberURL(t *testing.T, w *world) string {
	t.Helper()
	svcs, err := w.reg.GetService("micro.http.broker")
	if err != nil || len(svcs) == 0 || len(svcs[0].Nodes) == 0 {
		t.Fatalf("no subscriber registered: %v", err)
	}
	n := svcs[0].Nodes[0]
	return "https://" + n.Address + "/?id=" + n.Id
}

const rawMessage = `{"Header":{"Micro-Topic":"order.placed"},"Body":"eA=="}`

func TestSubscriberRejectsUnauthenticatedPublish(t *testing.T) {
	w := newWorld(t)
	got := subscribe(t, w.broker(t, "inventory"))
	u := subscriberURL(t, w)
	otherCA := pkitest.NewCA(t)
	tests := []struct {
		desc   string
		client *http.Client
		url    string
	}{
		{desc: "plaintext", client: &http.Client{}, url: strings.Replace(u, "https://", "http://", 1)},
		{
			desc:   "TLS without client certificate",
			client: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: w.ca.Pool(), InsecureSkipVerify: true}}},
			url:    u,
		},
		{
			desc: "client certificate from another CA",
			client: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{
				InsecureSkipVerify: true,
				Certificates:       []tls.Certificate{*otherCA.Leaf(t, "orders", time.Now().Add(-time.Minute), time.Now().Add(time.Hour))},
			}}},
			url: u,
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			resp, err := tt.client.Post(tt.url, "application/json", strings.NewReader(rawMessage))
			if err == nil {
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					t.Fatalf("publish accepted: %s", body)
				}
			}
			select {
			case <-got:
				t.Fatal("unauthenticated message arrived")
			case <-time.After(50 * time.Millisecond):
			}
		})
	}
}

func TestPublisherSkipsUnauthorizedSubscriber(t *testing.T) {
	w := newWorld(t)
	// users may not receive order.placed. A compromised users service with
	// write on micro.http.broker registers a subscription anyway, served
	// with its own valid certificate.
	usersSource := w.source(t, w.ca, "users")
	var received atomic.Int32
	rogue := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		received.Add(1)
	}))
	rogue.TLS = mtls.ServerConfig(usersSource, mtls.WithNextProtos("http/1.1"))
	rogue.StartTLS()
	defer rogue.Close()
	err := w.reg.Register(&registry.Service{
		Name:    "micro.http.broker",
		Version: "ff.http.broadcast",
		Nodes: []*registry.Node{{
			Id:       "order.placed-rogue",
			Address:  rogue.Listener.Addr().String(),
			Metadata: map[string]string{"secure": "true", "broker": "http", "topic": "order.placed"},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}

	orders := w.broker(t, "orders")
	err = orders.Publish("order.placed", &mbroker.Message{Body: []byte("x")})
	if err == nil || !strings.Contains(err.Error(), "users may not receive topic order.placed") {
		t.Fatalf("Publish = %v, want a refusal of the users subscriber", err)
	}
	if n := received.Load(); n != 0 {
		t.Fatalf("rogue subscriber received %d messages", n)
	}
}

func TestPublisherSkipsPlaintextSubscriber(t *testing.T) {
	w := newWorld(t)
	var received atomic.Int32
	plain := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { received.Add(1) }))
	defer plain.Close()
	err := w.reg.Register(&registry.Service{
		Name:    "micro.http.broker",
		Version: "ff.http.broadcast",
		Nodes: []*registry.Node{{
			Id:       "order.placed-plain",
			Address:  plain.Listener.Addr().String(),
			Metadata: map[string]string{"secure": "false", "broker": "http", "topic": "order.placed"},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	orders := w.broker(t, "orders")
	if err := orders.Publish("order.placed", &mbroker.Message{Body: []byte("x")}); !errors.Is(err, broker.ErrNoSubscribers) {
		t.Fatalf("Publish = %v, want ErrNoSubscribers", err)
	}
	if n := received.Load(); n != 0 {
		t.Fatalf("plaintext subscriber received %d messages", n)
	}
}

func TestSubscriberRejectsUnauthorizedPublisher(t *testing.T) {
	w := newWorld(t)
	got := subscribe(t, w.broker(t, "inventory"))
	// gateway holds a valid certificate but may not publish order.placed.
	// It posts directly, skipping its own broker's check.
	gateway := w.source(t, w.ca, "gateway")
	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig: mtls.ClientConfig(gateway, mtls.WithNextProtos("http/1.1")),
	}}
	resp, err := client.Post(subscriberURL(t, w), "application/json", strings.NewReader(rawMessage))
	if err != nil {
		t.Fatalf("Post: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("status = %d, want 403", resp.StatusCode)
	}
	select {
	case <-got:
		t.Fatal("message from gateway arrived")
	case <-time.After(50 * time.Millisecond):
	}
	if !strings.Contains(w.logs.String(), `"publisher":"gateway"`) {
		t.Fatalf("denial not logged with the publisher: %s", w.logs.String())
	}
}

func TestPublishWithoutSubscribers(t *testing.T) {
	w := newWorld(t)
	orders := w.broker(t, "orders")
	err := orders.Publish("order.placed", &mbroker.Message{Body: []byte("x")})
	if !errors.Is(err, broker.ErrNoSubscribers) {
		t.Fatalf("Publish = %v, want ErrNoSubscribers", err)
	}
}

func TestSubscribeDeniedByPolicy(t *testing.T) {
	w := newWorld(t)
	_, err := w.broker(t, "gateway").Subscribe("order.placed", func(mbroker.Event) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "subscribers in the authorization policy") {
		t.Fatalf("Subscribe = %v, want a policy error", err)
	}
}

func TestSubscriberRejectsExpiredOpenConnection(t *testing.T) {
	w := newWorld(t)
	fake := clock.NewFake(time.Now())
	inventory, err := broker.New(broker.Config{
		Service:  "inventory",
		Source:   w.source(t, w.ca, "inventory"),
		Policy:   w.policy,
		Registry: w.reg,
		Address:  "127.0.0.1:0",
		Logger:   slog.New(slog.NewJSONHandler(w.logs, nil)),
		Clock:    fake,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := inventory.Connect(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inventory.Disconnect() })
	got := subscribe(t, inventory)

	// orders holds a certificate valid for an hour. Its first publish
	// opens the connection that the second one reuses.
	orders := w.source(t, w.ca, "orders")
	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig: mtls.ClientConfig(orders, mtls.WithNextProtos("http/1.1")),
	}}
	defer client.CloseIdleConnections()
	var handshakes atomic.Int32
	post := func() int {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, subscriberURL(t, w), strings.NewReader(rawMessage))
		if err != nil {
			t.Fatal(err)
		}
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
			TLSHandshakeDone: func(tls.ConnectionState, error) { handshakes.Add(1) },
		}))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("Post: %v", err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}

	if code := post(); code != http.StatusOK {
		t.Fatalf("publish with a valid certificate: status = %d, want 200", code)
	}
	select {
	case <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("message with a valid certificate did not arrive")
	}

	cert, err := orders.Certificate()
	if err != nil {
		t.Fatal(err)
	}
	notAfter := cert.Leaf.NotAfter
	fake.Advance(time.Until(notAfter) + time.Second)
	if code := post(); code != http.StatusUnauthorized {
		t.Fatalf("publish after the certificate expired: status = %d, want 401", code)
	}
	if n := handshakes.Load(); n != 1 {
		t.Fatalf("%d TLS handshakes, want 1: the second publish must reuse the connection", n)
	}
	select {
	case <-got:
		t.Fatal("message with an expired certificate arrived")
	case <-time.After(50 * time.Millisecond):
	}
	for _, want := range []string{`"publisher":"orders"`, `"not_after":"` + notAfter.UTC().Format(time.RFC3339)} {
		if !strings.Contains(w.logs.String(), want) {
			t.Fatalf("log %q does not contain %q", w.logs.String(), want)
		}
	}
}
