package broker

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"

	mbroker "go-micro.dev/v4/broker"
	"go-micro.dev/v4/registry"

	"github.com/bulwark-go/bulwark/platform/security/mtls"
)

// Publish delivers msg to the subscribers of topic: to every subscriber
// without a queue, and to one subscriber of each queue. It returns the
// delivery errors joined, or ErrNoSubscribers when no subscriber is registered.
// Subscribers registered without TLS, or whose certificate names a service
// that may not receive the topic, get nothing.
func (b *Broker) Publish(topic string, msg *mbroker.Message, opts ...mbroker.PublishOption) error {
	if err := b.cfg.Policy.AllowPublish(b.cfg.Service, topic); err != nil {
		return fmt.Errorf("broker: publish to %s: %w", topic, err)
	}
	var options mbroker.PublishOptions
	for _, o := range opts {
		o(&options)
	}
	ctx := options.Context
	if ctx == nil {
		ctx = context.Background()
	}
	b.mu.RLock()
	connected, reg := b.connected, b.cfg.Registry
	b.mu.RUnlock()
	if !connected {
		return errors.New("broker: Publish before Connect")
	}

	body, err := encode(topic, msg)
	if err != nil {
		return err
	}
	services, err := reg.GetService(registryService)
	if errors.Is(err, registry.ErrNotFound) {
		return fmt.Errorf("broker: publish to %s: %w", topic, ErrNoSubscribers)
	}
	if err != nil {
		return fmt.Errorf("broker: look up subscribers of %s: %w", topic, err)
	}
	client := b.clientFor(topic)
	var errs []error
	delivered := 0
	for _, svc := range services {
		nodes := b.nodesFor(svc, topic)
		if len(nodes) == 0 {
			continue
		}
		if svc.Version != broadcastVersion {
			// A queue: one subscriber, trying the others on failure.
			rand.Shuffle(len(nodes), func(i, j int) { nodes[i], nodes[j] = nodes[j], nodes[i] })
			var queueErrs []error
			for _, n := range nodes {
				err := b.deliver(ctx, client, n, body)
				if err == nil {
					delivered++
					queueErrs = nil
					break
				}
				queueErrs = append(queueErrs, err)
			}
			errs = append(errs, queueErrs...)
			continue
		}
		for _, n := range nodes {
			if err := b.deliver(ctx, client, n, body); err != nil {
				errs = append(errs, err)
				continue
			}
			delivered++
		}
	}
	if delivered == 0 && len(errs) == 0 {
		return fmt.Errorf("broker: publish to %s: %w", topic, ErrNoSubscribers)
	}
	return errors.Join(errs...)
}

// nodesFor returns the nodes of svc that subscribe to topic over TLS.
func (b *Broker) nodesFor(svc *registry.Service, topic string) []*registry.Node {
	var nodes []*registry.Node
	for _, n := range svc.Nodes {
		if n.Metadata["broker"] != "http" || n.Metadata["topic"] != topic {
			continue
		}
		if n.Metadata["secure"] != "true" {
			b.rejections.warn("skipping a subscriber registered without TLS", "topic", topic, "id", n.Id,
				"address", n.Address)
			continue
		}
		nodes = append(nodes, n)
	}
	return nodes
}

func encode(topic string, msg *mbroker.Message) ([]byte, error) {
	if msg == nil {
		return nil, errors.New("broker: message is nil")
	}
	m := mbroker.Message{Header: make(map[string]string, len(msg.Header)+1), Body: msg.Body}
	for k, v := range msg.Header {
		m.Header[k] = v
	}
	m.Header[topicHeader] = topic
	body, err := json.Marshal(&m)
	if err != nil {
		return nil, fmt.Errorf("broker: encode message: %w", err)
	}
	return body, nil
}

func (b *Broker) deliver(ctx context.Context, client *http.Client, n *registry.Node, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, b.cfg.RequestTimeout)
	defer cancel()
	u := url.URL{Scheme: "https", Host: n.Address, Path: "/", RawQuery: url.Values{"id": {n.Id}}.Encode()}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("broker: deliver to %s: %w", n.Id, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("broker: deliver to %s at %s: %w", n.Id, n.Address, err)
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("broker: subscriber %s at %s returned %s: %s", n.Id, n.Address, resp.Status,
			bytes.TrimSpace(text))
	}
	return nil
}

// clientFor returns the HTTP client for topic. Each topic has its own
// client, because its TLS config accepts only subscribers that the policy
// allows to receive that topic, and pooled connections must not carry one
// topic's check over to another.
func (b *Broker) clientFor(topic string) *http.Client {
	b.clientsMu.Lock()
	defer b.clientsMu.Unlock()
	if c, ok := b.clients[topic]; ok {
		return c
	}
	policy, service := b.cfg.Policy, b.cfg.Service
	authorize := func(subscriber string) error { return policy.AllowSubscribe(subscriber, topic) }
	tlsCfg := mtls.ClientConfig(b.cfg.Source, mtls.WithAuthorizer(authorize), mtls.WithNextProtos("http/1.1"))
	dialer := &tls.Dialer{NetDialer: &net.Dialer{Timeout: b.cfg.RequestTimeout}, Config: tlsCfg}
	transport := &http.Transport{
		Proxy:               nil,
		DialTLSContext:      dialer.DialContext,
		TLSHandshakeTimeout: b.cfg.RequestTimeout,
		IdleConnTimeout:     b.cfg.MaxConnectionAge,
		MaxIdleConnsPerHost: 4,
		ForceAttemptHTTP2:   false,
	}
	c := &http.Client{
		Transport: transport,
		// A subscriber never redirects; following one would send the
		// message somewhere unverified by this topic's check.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	b.clients[topic] = c
	b.log.Debug("created publisher client", "topic", topic, "publisher", service)
	return c
}
