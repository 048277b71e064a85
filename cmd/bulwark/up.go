package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/bulwark-go/bulwark/internal/stack"
)

func init() {
	register(command{
		name:    "up",
		summary: "start the secured stack as local processes (native mode)",
		run:     runUp,
	})
	register(command{
		name:    "status",
		summary: "print one line per component of the native stack",
		run:     runStatus,
	})
}

// stackFlags parses the flags shared by up, down, clean and status into a
// stack.Config. BULWARK_STACK_DIR and BULWARK_PORT_BASE give the defaults,
// so tests and a second stack can run beside the default one.
func stackFlags(name string, args []string, stdout, stderr io.Writer) (stack.Config, error) {
	cfg := stack.Config{Out: stdout}
	flags := flag.NewFlagSet("bulwark "+name, flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.StringVar(&cfg.Dir, "dir", os.Getenv("BULWARK_STACK_DIR"),
		"state `directory` of the stack (default $BULWARK_STACK_DIR, else .bulwark at the repository root)")
	portBase := os.Getenv("BULWARK_PORT_BASE")
	flags.StringVar(&portBase, "port-base", portBase,
		"first of the stack's consecutive loopback `port`s: 11, plus one per service added to infra/services.yaml (default $BULWARK_PORT_BASE, else the documented ports)")
	flags.DurationVar(&cfg.ReadyTimeout, "timeout", stack.DefaultReadyTimeout,
		"maximum `duration` to wait for the components to become ready")
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cfg, errHelp
		}
		return cfg, err
	}
	if flags.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q; all options are flags", flags.Arg(0))
	}
	if portBase != "" {
		base, err := strconv.Atoi(portBase)
		if err != nil {
			return cfg, fmt.Errorf("port base %q is not a number; set -port-base or BULWARK_PORT_BASE to a port such as 20000", portBase)
		}
		cfg.PortBase = base
	}
	if cfg.ReadyTimeout <= 0 {
		return cfg, fmt.Errorf("-timeout %s must be positive", cfg.ReadyTimeout)
	}
	wd, err := os.Getwd()
	if err != nil {
		return cfg, err
	}
	if cfg.RepoRoot, err = stack.FindRepoRoot(wd); err != nil {
		return cfg, err
	}
	if cfg.Dir != "" {
		if cfg.Dir, err = filepath.Abs(cfg.Dir); err != nil {
			return cfg, err
		}
	}
	return cfg, nil
}

// runStackCommand parses the flags and runs action, mapping errors to exit
// codes: 2 for usage errors and 1 for failures.
func runStackCommand(ctx context.Context, name string, args []string, stdout, stderr io.Writer,
	action func(context.Context, stack.Config) error) int {
	cfg, err := stackFlags(name, args, stdout, stderr)
	if err != nil {
		if !errors.Is(err, errHelp) {
			fmt.Fprintf(stderr, "bulwark %s: %v\n", name, err)
		}
		return 2
	}
	if err := action(ctx, cfg); err != nil {
		fmt.Fprintf(stderr, "bulwark %s: %v\n", name, err)
		return 1
	}
	return 0
}

func runUp(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runStackCommand(ctx, "up", args, stdout, stderr, stack.Up)
}

// runStatus prints one line per component and exits 1 when any component
// is not ready.
func runStatus(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runStackCommand(ctx, "status", args, stdout, stderr, func(ctx context.Context, cfg stack.Config) error {
		statuses, err := stack.Status(ctx, cfg)
		if err != nil {
			return err
		}
		notReady := 0
		for _, s := range statuses {
			state := "stopped"
			switch {
			case s.Ready:
				state = "ready"
			case s.Running:
				state = "running"
			}
			pid := "-"
			if s.Running {
				pid = strconv.Itoa(s.PID)
			}
			if !s.Ready && !s.Absent {
				notReady++
			}
			fmt.Fprintf(stdout, "%-10s %-8s pid %-8s %s\n", s.Name, state, pid, s.Detail)
		}
		if notReady > 0 {
			return fmt.Errorf("%d of %d components are not ready", notReady, len(statuses))
		}
		return nil
	})
}
