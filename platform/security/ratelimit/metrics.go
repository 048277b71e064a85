package ratelimit

import (
	"errors"
	"fmt"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Key classes are the bounded set of label values that name the kind of
// subject a decision was about. Raw keys never become labels, because their
// number is unbounded.
const (
	ClassService   = "service"   // a caller identified by its verified certificate
	ClassAnonymous = "anonymous" // a call without a verified identity
	ClassClient    = "client"    // an authenticated API client at the gateway
	ClassIP        = "ip"        // a client IP address or prefix at the gateway
	ClassUsername  = "username"  // a username at login
	ClassTopic     = "topic"     // a subscriber's topic
	ClassSelf      = "self"      // a client pacing its own calls
)

// OtherEndpoint is the endpoint label of decisions beyond MaxEndpointLabels
// distinct endpoints.
const OtherEndpoint = "other"

// MaxEndpointLabels bounds the distinct endpoint labels of one Metrics, so
// that a caller that sends arbitrary endpoint names cannot grow the metrics
// without bound.
const MaxEndpointLabels = 256

// Metrics counts rate-limit decisions in Prometheus. A nil *Metrics counts
// nothing, so every component takes it as optional.
type Metrics struct {
	service   string
	allowed   *prometheus.CounterVec
	rejected  *prometheus.CounterVec
	delayed   *prometheus.CounterVec
	overdue   *prometheus.CounterVec
	fallbacks *prometheus.CounterVec
	registry  prometheus.Registerer

	mu        sync.RWMutex
	counters  map[labelPair]*decisionCounters
	others    map[string]*decisionCounters // by class, once endpoints is full
	endpoints map[string]bool
}

type labelPair struct{ endpoint, class string }

type decisionCounters struct{ allowed, rejected prometheus.Counter }

// NewMetrics creates the counters of service and registers them with reg.
// Nothing is registered globally. It returns an error if reg already contains
// metrics with these names, for example from a second NewMetrics on the
// same registry.
func NewMetrics(reg prometheus.Registerer, service string) (*Metrics, error) {
	if reg == nil {
		return nil, errors.New("ratelimit: NewMetrics needs a prometheus.Registerer; pass the service's registry")
	}
	if service == "" {
		return nil, errors.New("ratelimit: NewMetrics needs the service name for the service label")
	}
	labels := []string{"service", "endpoint", "class"}
	m := &Metrics{
		service: service,
		allowed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bulwark_ratelimit_allowed_total",
			Help: "Requests allowed by a rate limit, by service, endpoint and key class.",
		}, labels),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bulwark_ratelimit_rejected_total",
			Help: "Requests rejected by a rate limit, by service, endpoint and key class.",
		}, labels),
		delayed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bulwark_ratelimit_delayed_total",
			Help: "Messages or calls delayed to stay within a rate limit, by service, endpoint and key class.",
		}, labels),
		overdue: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bulwark_ratelimit_overdue_total",
			Help: "Messages handled over their rate limit because the maximum wait passed, by service, endpoint and key class.",
		}, labels),
		fallbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bulwark_ratelimit_store_fallbacks_total",
			Help: "Decisions made without the shared store because it failed, by service and mode (open: local limits; closed: rejected).",
		}, []string{"service", "mode"}),
		registry:  reg,
		counters:  make(map[labelPair]*decisionCounters),
		others:    make(map[string]*decisionCounters),
		endpoints: make(map[string]bool),
	}
	for _, c := range []prometheus.Collector{m.allowed, m.rejected, m.delayed, m.overdue, m.fallbacks} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("ratelimit: register metrics: %w", err)
		}
	}
	return m, nil
}

// Observe counts one decision on endpoint for a subject of class.
func (m *Metrics) Observe(endpoint, class string, allowed bool) {
	if m == nil {
		return
	}
	c := m.decisionCounters(endpoint, class)
	if allowed {
		c.allowed.Inc()
	} else {
		c.rejected.Inc()
	}
}

// ObserveDelay counts a message or call that waited to stay within its
// limit, and, when overdue, one that went ahead after the maximum wait.
func (m *Metrics) ObserveDelay(endpoint, class string, overdue bool) {
	if m == nil {
		return
	}
	endpoint = m.endpointLabel(endpoint)
	m.delayed.WithLabelValues(m.service, endpoint, class).Inc()
	if overdue {
		m.overdue.WithLabelValues(m.service, endpoint, class).Inc()
	}
}

// ObserveFallback counts one decision made without the shared store. Mode
// is "open" or "closed".
func (m *Metrics) ObserveFallback(mode string) {
	if m == nil {
		return
	}
	m.fallbacks.WithLabelValues(m.service, mode).Inc()
}

// TrackKeys registers a gauge bulwark_ratelimit_tracked_keys{service,
// store} that reads the number of keys a store tracks when scraped.
func (m *Metrics) TrackKeys(store string, count func() int) error {
	if m == nil {
		return nil
	}
	g := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "bulwark_ratelimit_tracked_keys",
		Help:        "Keys a rate-limit store tracks now.",
		ConstLabels: prometheus.Labels{"service": m.service, "store": store},
	}, func() float64 { return float64(count()) })
	if err := m.registry.Register(g); err != nil {
		return fmt.Errorf("ratelimit: register tracked keys gauge of store %q: %w", store, err)
	}
	return nil
}

// decisionCounters returns the cached counters of a label pair. The cache
// keeps WithLabelValues, which hashes every label, off the request path.
func (m *Metrics) decisionCounters(endpoint, class string) *decisionCounters {
	pair := labelPair{endpoint, class}
	m.mu.RLock()
	c := m.counters[pair]
	if c == nil && !m.endpoints[endpoint] && len(m.endpoints) >= MaxEndpointLabels {
		c = m.others[class]
	}
	m.mu.RUnlock()
	if c != nil {
		return c
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	if c = m.counters[pair]; c != nil {
		return c
	}

	label := m.endpointLabelLocked(endpoint)
	if label == OtherEndpoint {
		if c = m.others[class]; c != nil {
			return c
		}
	}

	c = &decisionCounters{
		allowed:  m.allowed.WithLabelValues(m.service, label, class),
		rejected: m.rejected.WithLabelValues(m.service, label, class),
	}
	if label == OtherEndpoint {
		m.others[class] = c
	} else {
		m.counters[pair] = c
	}
	return c
}

func (m *Metrics) endpointLabel(endpoint string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.endpointLabelLocked(endpoint)
}

func (m *Metrics) endpointLabelLocked(endpoint string) string {
	if m.endpoints[endpoint] {
		return endpoint
	}
	if len(m.endpoints) >= MaxEndpointLabels {
		return OtherEndpoint
	}
	m.endpoints[endpoint] = true
	return endpoint
}
