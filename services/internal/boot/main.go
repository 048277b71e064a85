package boot

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
)

// SetupFunc opens a service's stores and registers its handlers,
// subscribers, components and checks on svc.
type SetupFunc func(ctx context.Context, svc *Service) error

// Main is the whole main function of a service. With the single argument
// healthcheck it runs Healthcheck and exits. Otherwise it loads the
// environment, builds the service, calls setup and runs until SIGINT or
// SIGTERM. It exits 0 after a clean stop, 1 on any failure and 2 on
// unexpected arguments.
func Main(name string, opts Options, setup SetupFunc) {
	os.Exit(runMain(context.Background(), name, opts, setup, os.Args[1:], os.Getenv, os.Stderr))
}

func runMain(ctx context.Context, name string, opts Options, setup SetupFunc, args []string,
	getenv func(string) string, stderr io.Writer,
) int {
	switch {
	case len(args) == 1 && args[0] == "healthcheck":
		return Healthcheck(getenv, stderr)
	case len(args) > 0:
		fmt.Fprintf(stderr, "%s: unexpected arguments %q; configure the service with BULWARK_* environment "+
			"variables, or pass the single argument healthcheck\n", name, args)
		return 2
	}

	env, err := LoadEnv(getenv, opts)
	warnings, cleared, err := applyProfile(name, env, opts, err)
	level := env.LogLevel
	if err != nil {
		level = slog.LevelInfo
	}
	// Platform components add the service name to their own lines, so the
	// root logger does not, which would repeat the key.
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))
	if len(cleared) > 0 {
		log.Info("production profile removed the handlers of http.DefaultServeMux", "service", name,
			"debug_paths", cleared)
	}
	for _, w := range warnings {
		log.Warn("production profile accepts a risky setting", "service", name, "warning", w)
	}
	if err != nil {
		log.Error("configuration is invalid; nothing was started", "service", name, "err", err)
		return 1
	}
	log.Info("service starting", "service", name, "vault", env.VaultAddr, "consul", env.ConsulAddr, "listen", env.Listen,
		"admin", env.AdminListen, "production", env.Production)

	svc, err := New(ctx, name, env, opts, log)
	if err != nil {
		log.Error("service could not be built", "err", err)
		return 1
	}
	if err := setup(ctx, svc); err != nil {
		log.Error("service setup failed", "err", err)
		if closeErr := svc.close(); closeErr != nil {
			log.Error("releasing resources failed", "err", closeErr)
		}
		return 1
	}
	if err := svc.Run(ctx); err != nil {
		return 1
	}
	return 0
}
