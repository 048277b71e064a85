package ratelimit

import (
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestMetricsObserve(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m, err := NewMetrics(reg, "orders")
	if err != nil {
		t.Fatal(err)
	}
	m.Observe("Orders.Create", ClassService, true)
	m.Observe("Orders.Create", ClassService, true)
	m.Observe("Orders.Create", ClassService, false)
	m.ObserveDelay("order.created", ClassTopic, false)
	m.ObserveDelay("order.created", ClassTopic, true)
	m.ObserveFallback("open")

	tests := []struct {
		desc      string
		collector prometheus.Collector
		labels    []string
		want      float64
	}{
		{desc: "allowed", collector: m.allowed, labels: []string{"orders", "Orders.Create", ClassService}, want: 2},
		{desc: "rejected", collector: m.rejected, labels: []string{"orders", "Orders.Create", ClassService}, want: 1},
		{desc: "delayed", collector: m.delayed, labels: []string{"orders", "order.created", ClassTopic}, want: 2},
		{desc: "overdue", collector: m.overdue, labels: []string{"orders", "order.created", ClassTopic}, want: 1},
		{desc: "fallbacks", collector: m.fallbacks, labels: []string{"orders", "open"}, want: 1},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			vec := tt.collector.(*prometheus.CounterVec)
			if got := testutil.ToFloat64(vec.WithLabelValues(tt.labels...)); got != tt.want {
				t.Fatalf("%s%v = %v, want %v", tt.desc, tt.labels, got, tt.want)
			}
		})
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Fatalf("metrics lint: %v %v", problems, err)
	}
}

func TestMetricsBoundEndpointLabels(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg, "orders")
	if err != nil {
		t.Fatal(err)
	}
	for i := range MaxEndpointLabels + 50 {
		m.Observe("Endpoint"+strconv.Itoa(i), ClassService, false)
	}
	if got := testutil.CollectAndCount(m.rejected); got != MaxEndpointLabels+1 {
		t.Fatalf("rejected has %d series, want %d endpoints plus %q", got, MaxEndpointLabels, OtherEndpoint)
	}
	other := testutil.ToFloat64(m.rejected.WithLabelValues("orders", OtherEndpoint, ClassService))
	if other != 50 {
		t.Fatalf("%q counted %v decisions, want 50", OtherEndpoint, other)
	}
	// An endpoint seen before the cap keeps its own series.
	m.Observe("Endpoint0", ClassService, false)
	if got := testutil.ToFloat64(m.rejected.WithLabelValues("orders", "Endpoint0", ClassService)); got != 2 {
		t.Fatalf("Endpoint0 = %v, want 2", got)
	}
}

func TestMetricsTrackKeys(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg, "orders")
	if err != nil {
		t.Fatal(err)
	}
	keys := 7
	if err := m.TrackKeys("memory", func() int { return keys }); err != nil {
		t.Fatal(err)
	}
	want := `
# HELP bulwark_ratelimit_tracked_keys Keys a rate-limit store tracks now.
# TYPE bulwark_ratelimit_tracked_keys gauge
bulwark_ratelimit_tracked_keys{service="orders",store="memory"} 7
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "bulwark_ratelimit_tracked_keys"); err != nil {
		t.Fatal(err)
	}
	if err := m.TrackKeys("memory", func() int { return 0 }); err == nil {
		t.Fatal("second gauge of the same store registered, want an error")
	}
}

func TestNewMetricsErrors(t *testing.T) {
	if _, err := NewMetrics(nil, "orders"); err == nil {
		t.Fatal("NewMetrics(nil registry) = nil error")
	}
	if _, err := NewMetrics(prometheus.NewRegistry(), ""); err == nil {
		t.Fatal("NewMetrics(empty service) = nil error")
	}
	reg := prometheus.NewRegistry()
	if _, err := NewMetrics(reg, "orders"); err != nil {
		t.Fatal(err)
	}
	if _, err := NewMetrics(reg, "orders"); err == nil || !strings.Contains(err.Error(), "register metrics") {
		t.Fatalf("second NewMetrics on one registry = %v, want a registration error", err)
	}
}

func TestNilMetricsCountNothing(t *testing.T) {
	var m *Metrics
	m.Observe("e", ClassService, true)
	m.ObserveDelay("e", ClassTopic, true)
	m.ObserveFallback("open")
	if err := m.TrackKeys("memory", func() int { return 1 }); err != nil {
		t.Fatal(err)
	}
}
