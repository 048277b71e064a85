// Command bulwark runs Bulwark's operational tasks. Its only command today is
// bootstrap, which prepares Consul and Vault for the services:
//
//	bulwark bootstrap certs     -state DIR   # before the servers start
//	bulwark bootstrap configure -state DIR   # once they run
//	bulwark bootstrap unseal    -state DIR   # after a Vault restart
//
// The report (one line per object, then a summary) goes to standard output,
// and log messages go to standard error. Neither ever contains a token, key
// or secret ID: those are written only to 0600 files in the state directory.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `usage: bulwark bootstrap certs|configure|unseal [flags]

  certs      create the root CA, server and client certificates, the gossip
             key and the Consul and Vault configuration fragments
  configure  initialize and unseal Vault, and create the PKI, AppRoles,
             policies, Consul ACLs and Consul secrets-engine roles
  unseal     unseal Vault with the saved key

Run "bulwark bootstrap PHASE -h" for the flags of a phase.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes the command line args and returns the exit code: 0 on
// success, 1 when a step failed and 2 for a usage error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) < 2 || args[0] != "bootstrap" {
		fmt.Fprint(stderr, usage)
		return 2
	}
	phase := args[1]
	switch phase {
	case "certs", "configure", "unseal":
	default:
		fmt.Fprintf(stderr, "bulwark: unknown bootstrap phase %q\n\n%s", phase, usage)
		return 2
	}
	cfg, log, err := parseFlags(phase, args[2:], stdout, stderr)
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
