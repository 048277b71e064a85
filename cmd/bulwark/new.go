package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/bulwark-go/bulwark/internal/scaffold"
	"github.com/bulwark-go/bulwark/internal/stack"
)

func init() {
	register(command{
		name:    "new",
		summary: "service NAME: add a secured service with its identity, policies, limits and compose entry",
		run:     runNew,
	})
}

const newUsage = `usage: bulwark new service NAME [-repo DIR] [-description TEXT]

Adds the service NAME: its Go packages under services/NAME, its entry in
infra/services.yaml (from which the bootstrap creates its Vault PKI role,
AppRole and Consul secrets-engine role), its Consul ACL policy, its rows in
infra/authz.yaml with no callers, its rate limits and its compose service.
NAME is lowercase letters and digits, starting with a letter. An invalid or
used name changes nothing.

Flags:
`

func runNew(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "service" {
		fmt.Fprint(stderr, newUsage)
		flagSet(new(scaffold.Options), stderr).PrintDefaults()
		return 2
	}
	opts, err := parseNewFlags(args[1:], stderr)
	if errors.Is(err, errHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "bulwark: %v\n", err)
		return 2
	}
	result, err := scaffold.NewService(opts)
	if err != nil {
		fmt.Fprintf(stderr, "bulwark: %v\n", err)
		return 1
	}
	printNewResult(stdout, opts, result)
	return 0
}

func flagSet(opts *scaffold.Options, stderr io.Writer) *flag.FlagSet {
	flags := flag.NewFlagSet("bulwark new service", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.StringVar(&opts.Repo, "repo", "", "repository root `directory` (default: the repository around the working directory)")
	flags.StringVar(&opts.Description, "description", "",
		"one line about the service for infra/services.yaml (default \""+scaffold.DefaultDescription+"\")")
	return flags
}

// parseNewFlags reads NAME and the flags, which may come before or after it.
func parseNewFlags(args []string, stderr io.Writer) (scaffold.Options, error) {
	var opts scaffold.Options
	flags := flagSet(&opts, stderr)
	flags.Usage = func() {
		fmt.Fprint(stderr, newUsage)
		flags.PrintDefaults()
	}
	var names []string
	for {
		if err := flags.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return opts, errHelp
			}
			return opts, err
		}
		if flags.NArg() == 0 {
			break
		}
		names = append(names, flags.Arg(0))
		args = flags.Args()[1:]
	}
	switch len(names) {
	case 0:
		return opts, errors.New("missing service NAME; run bulwark new service NAME, for example bulwark new service payments")
	case 1:
		opts.Name = names[0]
	default:
		return opts, fmt.Errorf("one service NAME expected, got %q; add one service at a time", names)
	}

	if opts.Repo == "" {
		wd, err := os.Getwd()
		if err != nil {
			return opts, err
		}
		if opts.Repo, err = stack.FindRepoRoot(wd); err != nil {
			return opts, fmt.Errorf("%w, or pass -repo DIR", err)
		}
	}
	repo, err := filepath.Abs(opts.Repo)
	if err != nil {
		return opts, err
	}
	opts.Repo = repo
	return opts, nil
}

func printNewResult(out io.Writer, opts scaffold.Options, result scaffold.Result) {
	name := opts.Name
	fmt.Fprintf(out, "bulwark: added the service %s in %s\n\nCreated:\n", name, opts.Repo)
	for _, p := range result.Created {
		fmt.Fprintf(out, "  %s\n", p)
	}
	fmt.Fprintln(out, "Changed:")
	for _, p := range result.Changed {
		fmt.Fprintf(out, "  %s\n", p)
	}
	if result.ComposeAddress != 0 {
		fmt.Fprintf(out, "Compose address: ${BULWARK_SUBNET_PREFIX}.%d\n", result.ComposeAddress)
	}
	fmt.Fprintf(out, `
Next steps:
  1. Build and test it:  go build ./services/%[1]s && go test ./services/%[1]s/...
  2. Run make up (or bulwark up): the bootstrap runs again and creates the
     Vault PKI role, AppRole, Vault policy, Consul ACL policy and Consul
     secrets-engine role of %[1]s, then the stack builds and starts it.
  3. Allow a caller: in infra/authz.yaml, replace "%[1]s: {}" under endpoints
     with one line per endpoint and its callers, for example
         %[1]s:
           %[2]s.Ping: [gateway]
     Until then every call to %[1]s is denied. Services read authz.yaml when
     they start, so run make down and make up after the change.
`, name, result.HandlerType)
}
