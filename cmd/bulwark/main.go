// Command bulwark runs Bulwark's operational tasks:
//
//	bulwark bootstrap certs     -state DIR   # before the servers start
//	bulwark bootstrap configure -state DIR   # once they run
//	bulwark bootstrap unseal    -state DIR   # after a Vault restart
//	bulwark verify [flags] [CHECK ...]       # audit a running stack
//	bulwark up|down|clean|status [flags]     # run the stack as local processes
//	bulwark new service NAME                 # scaffold a secured service
//
// Reports go to standard output, and log messages go to standard error.
// Neither ever contains a token, key or secret ID: the bootstrap writes
// those only to 0600 files in the state directory.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
)

const usage = `usage: bulwark COMMAND [ARGS]

Commands:
%s
Run "bulwark COMMAND -h" for the flags of a command.
`

// command is one entry of the bulwark command line. Each command lives in a
// file of its own and adds itself to commands in an init function, so that
// new commands do not edit the same lines.
type command struct {
	name    string // first word on the command line
	summary string // one line for the usage text
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

var commands []command

func register(c command) { commands = append(commands, c) }

func init() {
	register(command{
		name:    "bootstrap",
		summary: "certs|configure|unseal: create certificates, then configure Consul and Vault",
		run:     runBootstrap,
	})
	register(command{
		name:    "verify",
		summary: "audit a running stack: registry, mTLS, certificates, limits, Vault",
		run:     runVerify,
	})
}

func usageText() string {
	sorted := slices.Clone(commands)
	slices.SortFunc(sorted, func(a, b command) int { return strings.Compare(a.name, b.name) })
	var b strings.Builder
	for _, c := range sorted {
		fmt.Fprintf(&b, "  %-10s %s\n", c.name, c.summary)
	}
	return fmt.Sprintf(usage, b.String())
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes the command line args and returns the exit code: 0 on
// success, 1 when a step failed and 2 for a usage error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText())
		return 2
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "bulwark: unknown command %q\n\n%s", args[0], usageText())
	return 2
}

const bootstrapUsage = `usage: bulwark bootstrap certs|configure|unseal [flags]

  certs      create the root CA, server and client certificates, the gossip
             key and the Consul and Vault configuration fragments
  configure  initialize and unseal Vault, and create the PKI, AppRoles,
             policies, Consul ACLs and Consul secrets-engine roles
  unseal     unseal Vault with the saved key

Run "bulwark bootstrap PHASE -h" for the flags of a phase.
`

func runBootstrap(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, bootstrapUsage)
		return 2
	}
	phase := args[0]
	switch phase {
	case "certs", "configure", "unseal":
	default:
		fmt.Fprintf(stderr, "bulwark: unknown bootstrap phase %q\n\n%s", phase, bootstrapUsage)
		return 2
	}
	cfg, log, err := parseFlags(phase, args[1:], stdout, stderr)
	if err != nil {
		if err != errHelp {
			fmt.Fprintf(stderr, "bulwark: %v\n", err)
		}
		return 2
	}
	if err := runPhase(ctx, phase, cfg); err != nil {
		log.Error("bootstrap failed", "phase", phase, "error", err)
		return 1
	}
	return 0
}
