package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/google/uuid"
	mbroker "go-micro.dev/v4/broker"
	"go-micro.dev/v4/registry"

	"github.com/bulwark-go/bulwark/platform/security/authz"
	"github.com/bulwark-go/bulwark/platform/security/identity"
	"github.com/bulwark-go/bulwark/platform/security/internal/clock"
	"github.com/bulwark-go/bulwark/platform/security/mtls"
)

// Protocol constants shared with go-micro's HTTP broker (go-micro v4.11.0).
const (
	registryService  = "micro.http.broker"
	broadcastVersion = "ff.http.broadcast"
	topicHeader      = "Micro-Topic"
)

// PublisherHeader is the message header in which a subscriber receives the
// verified identity of the publisher. The broker overwrites any value that
// the publisher sent.
const PublisherHeader = "Bulwark-Verified-Publisher"

// Defaults of Config fields left zero.
const (
	DefaultAddress          = ":0"
	DefaultMaxConnectionAge = 5 * time.Minute
	DefaultMaxMessageBytes  = 4 << 20
	DefaultRequestTimeout   = 10 * time.Second
	registerTTL             = time.Minute
	registerInterval        = 30 * time.Second
)

// ErrNoSubscribers is returned by Publish when no subscriber of the topic is
// registered.
var ErrNoSubscribers = errors.New("broker: no subscriber of the topic is registered")

// Config describes a Broker.
type Config struct {
	// Service is the identity of the service that runs the broker.
	// Required.
	Service string
	// Source provides the certificate and CA bundle. Required.
	Source mtls.Source
	// Policy decides which services may publish and receive each topic.
	// Required: without it every topic would be open to every service.
	Policy *authz.Policy
	// Registry finds subscribers and records this broker's subscriptions.
	// Optional here, because micro.Registry sets it through Init. Connect
	// fails while it is nil.
	Registry registry.Registry
	// Address is the listen address of the subscriber endpoint. Optional,
	// default DefaultAddress.
	Address string
	// MaxConnectionAge bounds how long a publisher's connection is reused.
	// Optional, default DefaultMaxConnectionAge.
	MaxConnectionAge time.Duration
	// MaxMessageBytes caps a message body. Optional, default
	// DefaultMaxMessageBytes.
	MaxMessageBytes int64
	// RequestTimeout bounds one delivery. Optional, default
	// DefaultRequestTimeout.
	RequestTimeout time.Duration
	// Logger receives the broker's logs. Optional, default slog.Default().
	Logger *slog.Logger
	// Clock is the time against which the subscriber endpoint checks the
	// publisher's certificate for each message. Optional, and nil means the
	// machine's clock.
	Clock clock.Clock
}

// Broker is a go-micro broker.Broker over mTLS. Create it with New.
type Broker struct {
	cfg Config
	id  string
	log *slog.Logger

	mu          sync.RWMutex
	opts        mbroker.Options
	connected   bool
	server      *http.Server
	listener    net.Listener
	subscribers map[string][]*subscriber // topic -> subscribers
	stop        chan struct{}
	wg          sync.WaitGroup

	clientsMu sync.Mutex
	clients   map[string]*http.Client // topic -> client that verifies its subscribers

	rejections rejectionLog
}

var _ mbroker.Broker = (*Broker)(nil)

// New returns a broker for the service. It starts nothing. The go-micro
// server calls Connect and Subscribe when the service has subscribers, and
// the client calls Connect before the first Publish.
func New(cfg Config) (*Broker, error) {
	if err := identity.ValidateName(cfg.Service); err != nil {
		return nil, fmt.Errorf("broker: %w", err)
	}
	if cfg.Source == nil {
		return nil, errors.New("broker: certificate source is nil")
	}
	if cfg.Policy == nil {
		return nil, errors.New("broker: authorization policy is nil; load infra/authz.yaml with authz.Load")
	}

	if cfg.Address == "" {
		cfg.Address = DefaultAddress
	}
	if cfg.MaxConnectionAge <= 0 {
		cfg.MaxConnectionAge = DefaultMaxConnectionAge
	}
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}

	b := &Broker{
		cfg:         cfg,
		id:          uuid.NewString(),
		log:         cfg.Logger.With("component", "broker", "service", cfg.Service),
		subscribers: map[string][]*subscriber{},
		clients:     map[string]*http.Client{},
		opts:        mbroker.Options{Registry: cfg.Registry, Context: context.Background()},
	}
	b.rejections.log = b.log
	return b, nil
}

// Init applies go-micro broker options. Only Registry is used. TLSConfig,
// Secure and Addrs are ignored, because TLS comes from the certificate
// source and the address from Config.
func (b *Broker) Init(opts ...mbroker.Option) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, o := range opts {
		o(&b.opts)
	}
	if b.opts.Registry != nil {
		b.cfg.Registry = b.opts.Registry
	}
	return nil
}

// Options returns the go-micro broker options.
func (b *Broker) Options() mbroker.Options {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.opts
}

// Address returns the address of the subscriber endpoint once it listens,
// and the configured address before.
func (b *Broker) Address() string {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.listener != nil {
		return b.listener.Addr().String()
	}
	return b.cfg.Address
}

// String returns the broker's name.
func (b *Broker) String() string { return "bulwark-mtls" }

// Connect prepares the broker. The subscriber endpoint starts listening at
// the first Subscribe, so a service that only publishes opens no port.
func (b *Broker) Connect() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.connected {
		return nil
	}
	if b.cfg.Registry == nil {
		return errors.New("broker: no registry; pass micro.Registry or Config.Registry")
	}
	b.connected = true
	b.stop = make(chan struct{})
	return nil
}

// Disconnect deregisters every subscription, stops the subscriber endpoint
// and closes idle publisher connections.
func (b *Broker) Disconnect() error {
	b.mu.Lock()
	if !b.connected {
		b.mu.Unlock()
		return nil
	}
	b.connected = false
	close(b.stop)
	var errs []error
	for _, subs := range b.subscribers {
		for _, s := range subs {
			if err := b.cfg.Registry.Deregister(s.service); err != nil {
				errs = append(errs, fmt.Errorf("broker: deregister %s: %w", s.id, err))
			}
		}
	}
	b.subscribers = map[string][]*subscriber{}
	srv := b.server
	b.server, b.listener = nil, nil
	b.mu.Unlock()

	if srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), b.cfg.RequestTimeout)
		if err := srv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("broker: stop subscriber endpoint: %w", err))
		}
		cancel()
	}
	b.wg.Wait()
	b.clientsMu.Lock()
	for _, c := range b.clients {
		c.CloseIdleConnections()
	}
	b.clients = map[string]*http.Client{}
	b.clientsMu.Unlock()
	return errors.Join(errs...)
}
