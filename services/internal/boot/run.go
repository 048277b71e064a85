package boot

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/bulwark-go/bulwark/platform/security/registry"
	"github.com/bulwark-go/bulwark/services/internal/admin"
	"github.com/bulwark-go/bulwark/services/internal/run"
)

// Timeouts of the admin listener, which serves only small responses.
const (
	adminReadHeaderTimeout = 5 * time.Second
	adminWriteTimeout      = 10 * time.Second
)

// Run loads the rate limits, opens the admin listener, starts the go-micro
// service and then the added components, and waits for SIGINT or SIGTERM.
// It fails when Consul did not accept the registration. On a signal it
// marks /readyz not ready, stops the components in reverse order, stops the
// go-micro service (which drains calls and deregisters), and releases
// everything. It returns nil after a clean stop.
func (s *Service) Run(ctx context.Context) error {
	err := s.run(ctx)
	if closeErr := s.close(); closeErr != nil {
		s.Log.Error("releasing resources failed", "err", closeErr)
		err = errors.Join(err, closeErr)
	}
	if err != nil {
		s.Log.Error("service stopped with an error", "err", err)
		return err
	}
	s.Log.Info("service stopped")
	return nil
}

func (s *Service) run(ctx context.Context) error {
	limits, err := s.Limits()
	if err != nil {
		return err
	}
	limits.Reloader.WatchSignals(ctx)

	s.mu.Lock()
	checks := append([]admin.Check{{Name: "registry", Func: s.checkRegistered}}, s.checks...)
	components := slices.Clone(s.components)
	s.mu.Unlock()

	adminHandler, err := admin.New(admin.Options{Checks: checks, Gatherer: s.Metrics, Log: s.Log})
	if err != nil {
		return fmt.Errorf("boot: %w", err)
	}
	ln, err := net.Listen("tcp", s.Env.AdminListen)
	if err != nil {
		return fmt.Errorf("boot: open the admin listener %s=%s: %w", EnvAdminListen, s.Env.AdminListen, err)
	}
	s.Log.Info("admin listener open", "address", ln.Addr().String())
	adminServer := &http.Server{
		Handler:           adminHandler,
		ReadHeaderTimeout: adminReadHeaderTimeout,
		WriteTimeout:      adminWriteTimeout,
	}
	all := append([]run.Component{run.HTTPServer("admin", adminServer, ln), s.microComponent()}, components...)
	return run.Run(ctx, run.Options{Log: s.Log, BeforeShutdown: adminHandler.Drain}, all...)
}

// checkRegistered is the readiness check of the registration: the service
// started, the registry reports no error, and Consul's catalog lists every
// node with a check that is not critical.
func (s *Service) checkRegistered(ctx context.Context) error {
	if !s.registered.Load() {
		return errors.New("the service is not registered in Consul yet")
	}
	if err := s.registry.Err(); err != nil {
		return err
	}
	return s.registry.CheckRegistered(ctx)
}

// microComponent runs the go-micro service: Start, the registration check,
// then wait. Shutdown stops the server, which deregisters from Consul and
// waits for in-flight calls.
func (s *Service) microComponent() run.Component {
	stop := make(chan struct{})
	var stopOnce sync.Once
	var started sync.Mutex // held while Start runs, so that Stop never races it
	startedOK := false
	return run.Component{
		Name: "go-micro service",
		Run: func() error {
			started.Lock()
			err := s.micro.Start()
			startedOK = err == nil
			started.Unlock()
			if err != nil {
				return fmt.Errorf("start: %w", err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), registry.DefaultCheckTimeout)
			err = s.registry.CheckRegistered(ctx)
			cancel()
			if err != nil {
				return fmt.Errorf("Consul registration: %w", err)
			}
			s.registered.Store(true)
			s.Log.Info("service registered in Consul and ready", "address", s.micro.Server().Options().Address)
			<-stop
			return nil
		},
		Shutdown: func(ctx context.Context) error {
			stopOnce.Do(func() { close(stop) })
			started.Lock()
			ok := startedOK
			started.Unlock()
			s.registered.Store(false)
			if !ok {
				return nil
			}
			// go-micro's Stop takes no context; it bounds the drain itself
			// and run.Run bounds the whole shutdown.
			return s.micro.Stop()
		},
	}
}
