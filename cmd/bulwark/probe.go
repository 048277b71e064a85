package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

const probeUsage = `usage: bulwark probe tcp HOST:PORT [-timeout DURATION]
       bulwark probe https URL -ca FILE [-cert FILE -key FILE] [-timeout DURATION]

Checks one server for a container health check, in images that have no
shell. Exits 0 when the check passes and 1 when it fails, with the reason on
standard error.

  tcp    a TCP connection to HOST:PORT opens
  https  GET URL returns 200 from a server whose certificate chains to the
         CA in -ca and names the URL's host; -cert and -key present a client
         certificate to servers that require one

Flags:
`

// defaultProbeTimeout bounds one probe, including the TLS handshake and the
// response.
const defaultProbeTimeout = 2 * time.Second

func init() {
	register(command{
		name:    "probe",
		summary: "tcp|https: check one server for a container health check",
		run:     runProbe,
	})
}

// probeConfig is the parsed command line of one probe.
type probeConfig struct {
	kind    string // tcp or https
	target  string // HOST:PORT or URL
	caFile  string
	cert    string
	key     string
	timeout time.Duration
}

// runProbe runs "bulwark probe" and returns the exit code: 0 when the check
// passed, 1 when it failed and 2 for a usage error.
func runProbe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseProbeFlags(args, stderr)
	if err != nil {
		if !errors.Is(err, errHelp) {
			fmt.Fprintf(stderr, "bulwark: %v\n", err)
		}
		return 2
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()

	switch cfg.kind {
	case "tcp":
		err = probeTCP(ctx, cfg.target)
	case "https":
		err = probeHTTPS(ctx, cfg)
	}
	if err != nil {
		fmt.Fprintf(stderr, "bulwark: probe %s %s failed: %v\n", cfg.kind, cfg.target, err)
		return 1
	}
	return 0
}

// parseProbeFlags reads "KIND TARGET [flags]". The target may come before or
// after the flags, so that health checks read in the natural order.
func parseProbeFlags(args []string, stderr io.Writer) (probeConfig, error) {
	cfg := probeConfig{}
	flags := flag.NewFlagSet("bulwark probe", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.Usage = func() {
		fmt.Fprint(stderr, probeUsage)
		flags.PrintDefaults()
	}
	flags.StringVar(&cfg.caFile, "ca", "", "PEM `file` of the CA that signed the server certificate (https only, required)")
	flags.StringVar(&cfg.cert, "cert", "", "PEM `file` of a client certificate to present (https only)")
	flags.StringVar(&cfg.key, "key", "", "PEM `file` of the client certificate's private key (https only)")
	flags.DurationVar(&cfg.timeout, "timeout", defaultProbeTimeout, "limit for the whole check (`duration`)")

	if len(args) == 0 {
		flags.Usage()
		return cfg, errHelp
	}
	cfg.kind, args = args[0], args[1:]
	if cfg.kind == "-h" || cfg.kind == "-help" || cfg.kind == "--help" {
		flags.Usage()
		return cfg, errHelp
	}
	if cfg.kind != "tcp" && cfg.kind != "https" {
		return cfg, fmt.Errorf("unknown probe %q; use tcp or https", cfg.kind)
	}
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cfg.target, args = args[0], args[1:]
	}
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cfg, errHelp
		}
		return cfg, err
	}
	rest := flags.Args()
	if cfg.target == "" && len(rest) > 0 {
		cfg.target, rest = rest[0], rest[1:]
	}
	if len(rest) > 0 {
		return cfg, fmt.Errorf("unexpected argument %q; a probe checks one target", rest[0])
	}
	if cfg.timeout <= 0 {
		return cfg, fmt.Errorf("-timeout %s is invalid; use a positive duration such as 2s", cfg.timeout)
	}
	return cfg, cfg.validate()
}

func (cfg probeConfig) validate() error {
	switch cfg.kind {
	case "tcp":
		if cfg.target == "" {
			return errors.New("probe tcp needs HOST:PORT, for example redis:6379")
		}
		if _, _, err := net.SplitHostPort(cfg.target); err != nil {
			return fmt.Errorf("probe tcp target %q is not HOST:PORT: %w", cfg.target, err)
		}
		if cfg.caFile != "" || cfg.cert != "" || cfg.key != "" {
			return errors.New("-ca, -cert and -key apply only to probe https")
		}
	case "https":
		if cfg.target == "" {
			return errors.New("probe https needs a URL, for example https://vault:8200/v1/sys/health")
		}
		u, err := url.Parse(cfg.target)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			return fmt.Errorf("probe https target %q is not an https:// URL with a host", cfg.target)
		}
		if cfg.caFile == "" {
			return errors.New("probe https needs -ca FILE: the CA that signed the server certificate")
		}
		if (cfg.cert == "") != (cfg.key == "") {
			return errors.New("-cert and -key go together; pass both or neither")
		}
	}
	return nil
}

// probeTCP opens and closes one TCP connection to addr.
func probeTCP(ctx context.Context, addr string) error {
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	return conn.Close()
}

// probeHTTPS sends one GET and expects 200. The server certificate must
// chain to the CA in cfg.caFile alone, not to the system roots, and must
// name the URL's host.
func probeHTTPS(ctx context.Context, cfg probeConfig) error {
	pem, err := os.ReadFile(cfg.caFile)
	if err != nil {
		return fmt.Errorf("read -ca: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return fmt.Errorf("-ca %s contains no PEM certificate", cfg.caFile)
	}

	tlsConfig := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	if cfg.cert != "" {
		pair, err := tls.LoadX509KeyPair(cfg.cert, cfg.key)
		if err != nil {
			return fmt.Errorf("load -cert and -key: %w", err)
		}
		tlsConfig.Certificates = []tls.Certificate{pair}
	}

	client := &http.Client{
		Transport: &http.Transport{
			TLSClientConfig:   tlsConfig,
			DisableKeepAlives: true,
			// A health check talks to the server itself, never through a
			// proxy named in the environment.
			Proxy: nil,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return errors.New("redirect not followed: probe the final URL")
		},
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, cfg.target, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %s, expected 200 OK", resp.Status)
	}
	return nil
}
