package broker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	mbroker "go-micro.dev/v4/broker"
	"go-micro.dev/v4/registry"
	maddr "go-micro.dev/v4/util/addr"

	"github.com/bulwark-go/bulwark/platform/security/mtls"
)

type subscriber struct {
	b       *Broker
	id      string
	topic   string
	opts    mbroker.SubscribeOptions
	handler mbroker.Handler
	service *registry.Service
}

func (s *subscriber) Options() mbroker.SubscribeOptions { return s.opts }
func (s *subscriber) Topic() string                     { return s.topic }

// Unsubscribe removes the subscription from the registry and the broker.
func (s *subscriber) Unsubscribe() error {
	b := s.b
	b.mu.Lock()
	defer b.mu.Unlock()
	subs := b.subscribers[s.topic]
	for i, other := range subs {
		if other == s {
			b.subscribers[s.topic] = append(subs[:i:i], subs[i+1:]...)
			break
		}
	}
	if err := b.cfg.Registry.Deregister(s.service); err != nil {
		return fmt.Errorf("broker: deregister %s: %w", s.id, err)
	}
	return nil
}

// Subscribe registers handler for topic. It fails when the policy does not
// allow this service to receive the topic, so that a misconfigured service
// stops at start instead of waiting for events that never come.
func (b *Broker) Subscribe(topic string, handler mbroker.Handler, opts ...mbroker.SubscribeOption) (mbroker.Subscriber, error) {
	if err := b.cfg.Policy.AllowSubscribe(b.cfg.Service, topic); err != nil {
		return nil, fmt.Errorf("broker: subscribe to %s: %w; add %s to the topic's subscribers in the "+
			"authorization policy", topic, err, b.cfg.Service)
	}
	options := mbroker.NewSubscribeOptions(opts...)

	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.connected {
		return nil, errors.New("broker: Subscribe before Connect")
	}
	if err := b.listenLocked(); err != nil {
		return nil, err
	}
	host, port, err := net.SplitHostPort(b.listener.Addr().String())
	if err != nil {
		return nil, fmt.Errorf("broker: listener address: %w", err)
	}
	addr, err := maddr.Extract(host)
	if err != nil {
		return nil, fmt.Errorf("broker: advertise address of %s: %w", host, err)
	}

	version := options.Queue
	if version == "" {
		version = broadcastVersion
	}
	s := &subscriber{
		b:       b,
		id:      topic + "-" + b.id,
		topic:   topic,
		opts:    options,
		handler: handler,
	}
	s.service = &registry.Service{
		Name:    registryService,
		Version: version,
		Nodes: []*registry.Node{{
			Id:      s.id,
			Address: net.JoinHostPort(addr, port),
			Metadata: map[string]string{
				"secure": "true",
				"broker": "http",
				"topic":  topic,
			},
		}},
	}

	if err := b.cfg.Registry.Register(s.service, registry.RegisterTTL(registerTTL)); err != nil {
		return nil, fmt.Errorf("broker: register subscription %s: %w", s.id, err)
	}
	b.subscribers[topic] = append(b.subscribers[topic], s)
	b.log.Info("subscribed", "topic", topic, "id", s.id, "address", s.service.Nodes[0].Address,
		"queue", options.Queue)
	return s, nil
}

// listenLocked starts the subscriber endpoint once. b.mu must be held.
func (b *Broker) listenLocked() error {
	if b.listener != nil {
		return nil
	}
	tlsCfg := mtls.ServerConfig(b.cfg.Source, mtls.WithNextProtos("http/1.1"))
	ln, err := net.Listen("tcp", b.cfg.Address)
	if err != nil {
		return fmt.Errorf("broker: listen on %s: %w", b.cfg.Address, err)
	}
	srv := &http.Server{
		Handler:           http.HandlerFunc(b.serveHTTP),
		TLSConfig:         tlsCfg,
		ReadHeaderTimeout: b.cfg.RequestTimeout,
		ReadTimeout:       b.cfg.RequestTimeout,
		IdleTimeout:       b.cfg.MaxConnectionAge,
		MaxHeaderBytes:    64 << 10,
		ConnContext: func(ctx context.Context, _ net.Conn) context.Context {
			return context.WithValue(ctx, connStartKey{}, time.Now())
		},
		ErrorLog: nil,
	}
	b.server, b.listener = srv, ln
	b.wg.Add(2)
	go func() {
		defer b.wg.Done()
		// ServeTLS wraps the listener so that every connection completes
		// the mTLS handshake before a request is read.
		if err := srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			b.log.Error("subscriber endpoint stopped", "error", err)
		}
	}()
	go func() {
		defer b.wg.Done()
		b.reregister()
	}()
	b.log.Info("subscriber endpoint listening", "address", ln.Addr().String())
	return nil
}

// reregister renews the registry TTL of every subscription until
// Disconnect.
func (b *Broker) reregister() {
	t := time.NewTicker(registerInterval)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
		}
		b.mu.RLock()
		for _, subs := range b.subscribers {
			for _, s := range subs {
				if err := b.cfg.Registry.Register(s.service, registry.RegisterTTL(registerTTL)); err != nil {
					b.log.Warn("renewing subscription in the registry failed", "id", s.id, "error", err)
				}
			}
		}
		b.mu.RUnlock()
	}
}

type connStartKey struct{}

func statusText(code int) string { return strconv.Itoa(code) + " " + http.StatusText(code) }
