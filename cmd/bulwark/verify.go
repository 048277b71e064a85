package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/bulwark-go/bulwark/internal/stack"
	"github.com/bulwark-go/bulwark/internal/verify"
)

const verifyUsage = `usage: bulwark verify [-env FILE] [-json] [-timeout D] [registry|mtls|certs|limits|vault ...]

Attacks the running stack named by the env file and prints one line per
check: PASS or FAIL, the group, the check and the evidence. No check names
runs every group:

  registry  Consul rejects plaintext, certificate-less and tokenless
            clients, and each service's token only its own name
  mtls      every service in Consul's catalog rejects plaintext, no client
            certificate and a throwaway CA, and answers a valid
            certificate of a denied identity with PermissionDenied
  certs     every service presents a certificate from the stack's CA with
            its own identity and a lifetime within its PKI role's max_ttl
  limits    a burst from one client gets 429 with Retry-After while a
            second client is still served
  vault     Vault rejects plain HTTP, and no service's AppRole reads
            another service's secrets

Exit status: 0 when every check passed, 1 when one failed or could not
run, 2 for a usage error, an unreadable env file or one that names an
address outside loopback and the stack's private subnet.

The older form "bulwark verify registry -consul-addr HOST:PORT [flags]"
audits one Consul agent without an env file; "bulwark verify registry -h"
lists its flags.

Flags:
`

// runVerify runs "bulwark verify" and returns the exit code.
func runVerify(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 1 && args[0] == "registry" && strings.HasPrefix(args[1], "-") {
		return runVerifyRegistry(ctx, args[1:], stdout, stderr)
	}
	opts, err := parseVerifyFlags(args, stderr)
	if err != nil {
		if !errors.Is(err, errHelp) {
			fmt.Fprintf(stderr, "bulwark: %v\n", err)
		}
		return 2
	}
	env, err := verify.ReadEnv(opts.envFile)
	if err != nil {
		fmt.Fprintf(stderr, "bulwark: %v\n", err)
		// Without a stack, the person may not know the command yet.
		if errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintf(stderr, "\n%s", verifyUsage)
		}
		return 2
	}
	cfg := verify.Config{Env: env, Groups: opts.groups, Timeout: opts.timeout}
	if root, err := findRoot(opts.envFile); err == nil {
		cfg.AuthzFile = filepath.Join(root, "infra", "authz.yaml")
	} else if opts.wants("mtls") {
		fmt.Fprintf(stderr, "bulwark: %v; the mtls checks read infra/authz.yaml\n", err)
		return 2
	}

	results, err := verify.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "bulwark: %v\n", err)
		// An address outside the stack means the env file is not a
		// stack's: a usage error, not a finding about the stack.
		var scopeErr *verify.ScopeError
		if errors.As(err, &scopeErr) {
			return 2
		}
		return 1
	}
	write := verify.WriteText
	if opts.json {
		write = verify.WriteJSON
	}
	if err := write(stdout, results); err != nil {
		fmt.Fprintf(stderr, "bulwark: write the results: %v\n", err)
		return 1
	}
	if verify.Failed(results) {
		fmt.Fprintln(stderr, "bulwark: the stack failed at least one check: see the FAIL lines")
		return 1
	}
	return 0
}

// verifyOptions are the parsed flags and arguments of "bulwark verify".
type verifyOptions struct {
	envFile string
	json    bool
	timeout time.Duration
	groups  []string
}

func (o verifyOptions) wants(group string) bool {
	if len(o.groups) == 0 {
		return true
	}
	return slices.Contains(o.groups, group)
}

func parseVerifyFlags(args []string, stderr io.Writer) (verifyOptions, error) {
	var opts verifyOptions
	flags := flag.NewFlagSet("bulwark verify", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.Usage = func() {
		fmt.Fprint(stderr, verifyUsage)
		flags.PrintDefaults()
	}
	flags.StringVar(&opts.envFile, "env", verify.DefaultEnvFile, "env `file` of the stack, as make up writes it")
	flags.BoolVar(&opts.json, "json", false, "print a JSON array of {group, check, pass, evidence} instead of lines")
	flags.DurationVar(&opts.timeout, "timeout", verify.DefaultTimeout, "`duration` that each request may take")
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return opts, errHelp
		}
		return opts, err
	}
	if opts.timeout <= 0 {
		return opts, fmt.Errorf("-timeout %v must be positive", opts.timeout)
	}
	opts.groups = flags.Args()
	for _, g := range opts.groups {
		if strings.HasPrefix(g, "-") {
			return opts, fmt.Errorf("flag %s after a check name; put flags before the check names", g)
		}
	}
	for _, g := range opts.groups {
		if !slices.Contains(verify.Groups, g) {
			return opts, fmt.Errorf("unknown verify check %q; use one of %s", g, strings.Join(verify.Groups, ", "))
		}
	}
	return opts, nil
}

// findRoot returns the repository root above the working directory, else
// above the env file (which make up writes to <root>/.bulwark/env).
func findRoot(envFile string) (string, error) {
	if root, err := stack.FindRepoRoot("."); err == nil {
		return root, nil
	}
	return stack.FindRepoRoot(filepath.Dir(envFile))
}
