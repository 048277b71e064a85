package run

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// blocker is a component that runs until shut down and records the order
// of shutdowns.
type blocker struct {
	name  string
	stop  chan struct{}
	once  sync.Once
	order *[]string
	mu    *sync.Mutex
	hang  bool
}

func newBlocker(name string, order *[]string, mu *sync.Mutex) *blocker {
	return &blocker{name: name, stop: make(chan struct{}), order: order, mu: mu}
}

func (b *blocker) component() Component {
	return Component{
		Name: b.name,
		Run:  func() error { <-b.stop; return nil },
		Shutdown: func(ctx context.Context) error {
			b.mu.Lock()
			*b.order = append(*b.order, b.name)
			b.mu.Unlock()
			if !b.hang {
				b.once.Do(func() { close(b.stop) })
			}
			return nil
		},
	}
}

func TestRunStopsInReverseOrder(t *testing.T) {
	var order []string
	var mu sync.Mutex
	a, b := newBlocker("store", &order, &mu), newBlocker("api", &order, &mu)
	ctx, cancel := context.WithCancel(context.Background())
	drained := false
	errc := make(chan error, 1)
	go func() {
		errc <- Run(ctx, Options{Log: discard, BeforeShutdown: func() { drained = true }}, a.component(), b.component())
	}()
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	if strings.Join(order, ",") != "api,store" {
		t.Errorf("shutdown order = %v, want api then store", order)
	}
	if !drained {
		t.Error("BeforeShutdown did not run")
	}
}

func TestRunStopsOnSIGTERM(t *testing.T) {
	var order []string
	var mu sync.Mutex
	a := newBlocker("api", &order, &mu)
	errc := make(chan error, 1)
	started := make(chan struct{})
	comp := a.component()
	run := comp.Run
	comp.Run = func() error { close(started); return run() }
	go func() { errc <- Run(context.Background(), Options{Log: discard}, comp) }()
	<-started
	// Run has registered for the signal before starting components, so
	// the signal goes to Run and does not end the test process.
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("Run = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop on SIGTERM")
	}
}

func TestRunComponentFailure(t *testing.T) {
	var order []string
	var mu sync.Mutex
	a := newBlocker("store", &order, &mu)
	failing := Component{Name: "api", Run: func() error { return errors.New("listen: address in use") },
		Shutdown: func(context.Context) error { return nil }}
	err := Run(context.Background(), Options{Log: discard}, a.component(), failing)
	if err == nil || !strings.Contains(err.Error(), "api failed") || !strings.Contains(err.Error(), "address in use") {
		t.Fatalf("Run = %v, want the api failure", err)
	}
	if len(order) != 1 || order[0] != "store" {
		t.Errorf("shut down = %v, want the store shut down after the failure", order)
	}
}

func TestRunShutdownBounded(t *testing.T) {
	var order []string
	var mu sync.Mutex
	a := newBlocker("stuck", &order, &mu)
	a.hang = true
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := Run(ctx, Options{Log: discard, ShutdownTimeout: 50 * time.Millisecond}, a.component())
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("Run = %v, want a shutdown timeout", err)
	}
	close(a.stop)
}

func TestRunRejectsBadInput(t *testing.T) {
	if err := Run(context.Background(), Options{}); err == nil {
		t.Error("Run without a logger succeeded")
	}
	if err := Run(context.Background(), Options{Log: discard}, Component{Name: "x"}); err == nil {
		t.Error("Run with an incomplete component succeeded")
	}
}

func TestHTTPServerDrainsInFlight(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	inHandler := make(chan struct{})
	release := make(chan struct{})
	srv := &http.Server{ReadHeaderTimeout: time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(inHandler)
		<-release
		w.WriteHeader(http.StatusTeapot)
	})}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		errc <- Run(ctx, Options{Log: discard, ShutdownTimeout: 10 * time.Second}, HTTPServer("api", srv, ln))
	}()

	status := make(chan int, 1)
	go func() {
		rsp, err := http.Get("http://" + ln.Addr().String() + "/")
		if err != nil {
			status <- 0
			return
		}
		rsp.Body.Close()
		status <- rsp.StatusCode
	}()
	<-inHandler
	cancel() // shutdown starts while the request is in flight
	close(release)
	if got := <-status; got != http.StatusTeapot {
		t.Errorf("in-flight request status = %d, want 418", got)
	}
	if err := <-errc; err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
}
