package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/bulwark-go/bulwark/internal/bootstrap"
	"github.com/bulwark-go/bulwark/platform/security/registry/verify"
)

const verifyRegistryUsage = `usage: bulwark verify registry -consul-addr HOST:PORT [flags]

Checks that the link between the services and Consul is secure: plaintext
and certificate-less connections rejected, untrusted servers rejected by the
registry client, anonymous writes rejected, and each service token (given
with -token) limited to its own name. Prints one line per check and exits 1
when any check fails.

`

// serviceTokens collects repeatable NAME=PATH flags.
type serviceTokens map[string]string

func (s serviceTokens) String() string {
	parts := make([]string, 0, len(s))
	for name, path := range s {
		parts = append(parts, name+"="+path)
	}
	return strings.Join(parts, ",")
}

func (s serviceTokens) Set(value string) error {
	name, path, ok := strings.Cut(value, "=")
	if !ok || name == "" || path == "" {
		return fmt.Errorf("token %q is not NAME=PATH; pass the service name and the file holding its token", value)
	}
	if _, dup := s[name]; dup {
		return fmt.Errorf("token of service %q given twice", name)
	}
	s[name] = path
	return nil
}

// runVerifyRegistry runs "bulwark verify registry" with the flags in args and
// returns the exit code: 0 when every check passed, 1 when one failed or the
// checks could not run, and 2 for a usage error.
func runVerifyRegistry(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseVerifyRegistryFlags(args, stderr)
	if err != nil {
		if !errors.Is(err, errHelp) {
			fmt.Fprintf(stderr, "bulwark: %v\n", err)
		}
		return 2
	}
	results, err := verify.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "bulwark: %v\n", err)
		return 1
	}
	if err := verify.Write(stdout, results); err != nil {
		fmt.Fprintf(stderr, "bulwark: write the results: %v\n", err)
		return 1
	}
	if verify.Failed(results) {
		fmt.Fprintln(stderr, "bulwark: the registry link is not secure: see the FAIL lines")
		return 1
	}
	return 0
}

func parseVerifyRegistryFlags(args []string, stderr io.Writer) (verify.Config, error) {
	cfg := verify.Config{ServiceTokens: serviceTokens{}}
	flags := flag.NewFlagSet("bulwark verify registry", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.Usage = func() {
		fmt.Fprint(stderr, verifyRegistryUsage)
		flags.PrintDefaults()
	}
	state := flags.String("state", defaultStateDir(), "state `directory` whose CA and operator certificate are the defaults of -ca, -cert and -key")
	flags.StringVar(&cfg.Address, "consul-addr", "", "`host:port` of Consul's HTTPS API (required)")
	flags.StringVar(&cfg.CAFile, "ca", "", "PEM `file` of the trust chain's CA (default: ca.pem in -state)")
	flags.StringVar(&cfg.CertFile, "cert", "", "PEM `file` of a client certificate from the trust chain (default: the operator certificate in -state)")
	flags.StringVar(&cfg.KeyFile, "key", "", "PEM `file` of the client certificate's key (default: the operator key in -state)")
	flags.StringVar(&cfg.ServerName, "server-name", "", "host `name` to verify in Consul's certificate (default: the host of -consul-addr)")
	flags.Var(serviceTokens(cfg.ServiceTokens), "token", "`NAME=PATH` of a file holding service NAME's Consul token, to check its limits (repeatable)")
	flags.DurationVar(&cfg.Timeout, "timeout", verify.DefaultTimeout, "`duration` that each request may take")
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cfg, errHelp
		}
		return cfg, err
	}
	if flags.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q; all options are flags", flags.Arg(0))
	}
	if cfg.Address == "" {
		return cfg, errors.New("-consul-addr is missing; pass the host:port of Consul's HTTPS API")
	}
	if cfg.Timeout <= 0 {
		return cfg, fmt.Errorf("-timeout %v must be positive", cfg.Timeout)
	}

	if *state != "" {
		layout := bootstrap.NewLayout(filepath.Clean(*state))
		setDefault(&cfg.CAFile, layout.CACert)
		setDefault(&cfg.CertFile, layout.OperatorCert)
		setDefault(&cfg.KeyFile, layout.OperatorKey)
	}
	return cfg, nil
}

func setDefault(value *string, fallback string) {
	if *value == "" {
		*value = fallback
	}
}
