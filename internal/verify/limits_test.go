package verify

import (
	"context"
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// startGateway starts a TLS server on loopback that replaces the
// gateway with the given handler, and returns a target aimed at it.
func startGateway(t *testing.T, handler http.Handler) *target {
	t.Helper()
	srv := httptest.NewTLSServer(handler)
	t.Cleanup(srv.Close)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	block := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(caFile, block, 0o600); err != nil {
		t.Fatal(err)
	}
	sc, err := newScope("127.0.0.1:8501")
	if err != nil {
		t.Fatal(err)
	}
	return &target{
		env:         Env{GatewayURL: srv.URL, GatewayCAFile: caFile},
		scope:       sc,
		timeout:     5 * time.Second,
		gatewayAddr: strings.TrimPrefix(srv.URL, "https://"),
	}
}

// perAddress returns 429 to a client address after limit requests.
func perAddress(limit int, retryAfter string) http.Handler {
	var mu sync.Mutex
	counts := map[string]int{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		mu.Lock()
		counts[host]++
		n := counts[host]
		mu.Unlock()
		if n > limit {
			if retryAfter != "" {
				w.Header().Set("Retry-After", retryAfter)
			}
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
}

func TestCheckLimits(t *testing.T) {
	tests := []struct {
		desc    string
		handler http.Handler
		want    []bool // pass of the burst and the second-client result
		reason  string // in the evidence of the first failing result
	}{
		{"limit per address", perAddress(20, "1"), []bool{true, true}, ""},
		{"no limit", perAddress(1000, "1"), []bool{false, false}, "none got 429"},
		{"no Retry-After", perAddress(20, ""), []bool{false, true}, "Retry-After"},
		{"one limit for everyone", http.HandlerFunc(func() func(http.ResponseWriter, *http.Request) {
			var mu sync.Mutex
			n := 0
			return func(w http.ResponseWriter, _ *http.Request) {
				mu.Lock()
				n++
				over := n > 20
				mu.Unlock()
				if over {
					w.Header().Set("Retry-After", "1")
					w.WriteHeader(http.StatusTooManyRequests)
				}
			}
		}()), []bool{true, false}, "shared by every client"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			tgt := startGateway(t, tt.handler)
			results := tgt.checkLimits(context.Background(), nil)
			if len(results) != len(tt.want) {
				t.Fatalf("%d results, want %d: %+v", len(results), len(tt.want), results)
			}
			reported := false
			for i, r := range results {
				if r.Pass != tt.want[i] {
					t.Errorf("%s: pass = %v, want %v (%s)", r.Check, r.Pass, tt.want[i], r.Evidence)
				}
				if r.Pass || reported {
					continue
				}
				reported = true
				if !strings.Contains(r.Evidence, tt.reason) {
					t.Errorf("%s: evidence %q does not contain %q", r.Check, r.Evidence, tt.reason)
				}
			}
		})
	}
}

func TestBurstBounded(t *testing.T) {
	var mu sync.Mutex
	requests := 0
	tgt := startGateway(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		mu.Lock()
		requests++
		mu.Unlock()
	}))
	first, _, err := tgt.clients(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	out := tgt.burst(context.Background(), first)
	if out.limited {
		t.Error("burst reports a limit that the server never applied")
	}
	mu.Lock()
	defer mu.Unlock()
	if requests != maxBurst {
		t.Errorf("burst sent %d requests, want %d", requests, maxBurst)
	}
}
