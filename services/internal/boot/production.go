package boot

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"

	"github.com/bulwark-go/bulwark/platform/security/pki"
)

// EnvProfile selects the run profile of a service.
const EnvProfile = "BULWARK_ENV"

// Values of BULWARK_ENV. An unset variable means ProfileDevelopment.
const (
	// ProfileDevelopment accepts every configuration that LoadEnv accepts.
	ProfileDevelopment = "development"
	// ProfileProduction adds the checks of CheckProduction before anything
	// starts and CheckCertificateTTL after the first certificate is issued.
	ProfileProduction = "production"
)

// profile reads BULWARK_ENV and reports whether it selects production.
func (v *envReader) profile() bool {
	value := v.get(EnvProfile)
	switch value {
	case "", ProfileDevelopment:
		return false
	case ProfileProduction:
		return true
	}
	v.fail(EnvProfile, "%q is not a profile; use %s or %s, or leave it unset for %s",
		value, ProfileDevelopment, ProfileProduction, ProfileDevelopment)
	return false
}

// ProductionConfig is the configuration that CheckProduction inspects.
type ProductionConfig struct {
	// Service is the service's name.
	Service string
	// Env is the environment that LoadEnv validated.
	Env Env
	// Options are the service's boot options. Options.Routes are the
	// gateway's public routes.
	Options Options
	// Environ is the whole process environment, as os.Environ returns it.
	Environ []string
	// Admin is the handler of the admin listener. Nil means the handler
	// that Run serves.
	Admin http.Handler
}

// violation is one reason why production rejects a configuration.
type violation struct {
	setting string // the variable or file setting at fault
	problem string
	fix     string
}

func (v violation) Error() string {
	return fmt.Sprintf("  %s: %s; %s", v.setting, v.problem, v.fix)
}

// productionCheck collects the violations and warnings of one check.
type productionCheck struct {
	violations []error
	warnings   []string
}

func (c *productionCheck) reject(setting, problem, fix string) {
	c.violations = append(c.violations, violation{setting: setting, problem: problem, fix: fix})
}

func (c *productionCheck) warn(format string, args ...any) {
	c.warnings = append(c.warnings, fmt.Sprintf(format, args...))
}

// CheckProduction checks a service's configuration against the production
// profile. It reads only local files and the environment, so it runs
// before the service contacts Vault, Consul or Redis. The error lists every
// violation at once, each naming the setting and the fix; it names
// environment variables but never their values. The warnings are settings
// that production accepts but that the operator must know about; the
// service logs each one. Files that LoadEnv reports as missing or
// unreadable are not reported again.
func CheckProduction(cfg ProductionConfig) (warnings []string, err error) {
	c := &productionCheck{}
	if _, err := pki.LoadBundle(cfg.Env.CAFile); err != nil && readable(cfg.Env.CAFile) {
		c.reject(EnvCAFile, fmt.Sprintf("the CA bundle cannot be used (%v)", err),
			"set it to the PEM file of the root CA, ca.pem in the bootstrap state directory")
	}
	checkSecretValues(c, cfg.Environ)
	checkTransportVariables(c, cfg.Environ)
	checkRateLimits(c, cfg)
	checkDebugEndpoints(c, cfg)
	if cfg.Env.LogLevel < slog.LevelInfo {
		c.warn("%s=debug is set: debug lines add event ids and internal detail that info leaves out; "+
			"use info in production unless you are tracing a fault", EnvLogLevel)
	}
	if len(c.violations) > 0 {
		return c.warnings, fmt.Errorf("boot: %s=%s rejects this configuration; nothing was started:\n%w",
			EnvProfile, ProfileProduction, errors.Join(c.violations...))
	}
	return c.warnings, nil
}

// envValue returns the value of name in environ and whether it is set to a
// non-empty value. A later entry wins, as in os.Getenv.
func envValue(environ []string, name string) (string, bool) {
	value, found := "", false
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			value, found = v, true
		}
	}
	return value, found && strings.TrimSpace(value) != ""
}

// applyProfile applies the production profile when env selects it: it
// empties http.DefaultServeMux, runs CheckProduction on the process
// environment and joins its error to loadErr, the error of LoadEnv, so
// that one message lists every problem. It returns the warnings and the
// debug paths that http.DefaultServeMux served, for the log.
func applyProfile(name string, env Env, opts Options, loadErr error) (warnings, cleared []string, err error) {
	if !env.Production {
		return nil, nil, loadErr
	}
	cleared = clearDefaultServeMux()
	warnings, err = CheckProduction(ProductionConfig{Service: name, Env: env, Options: opts, Environ: os.Environ()})
	return warnings, cleared, errors.Join(loadErr, err)
}

// readable reports whether path names a regular file that can be opened.
// LoadEnv reports every other case.
func readable(path string) bool {
	info, err := os.Stat(path)
	if err != nil || !info.Mode().IsRegular() {
		return false
	}
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	f.Close()
	return true
}
