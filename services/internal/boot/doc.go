// Package boot turns a service's environment into a running secured
// go-micro service: it reads and validates the BULWARK_* variables, logs in
// to Vault, obtains the rotating certificate, connects to Consul with the
// service's own ACL token, builds the service with mTLS, authorization and
// rate limits (platform/security/secure), serves /healthz, /readyz and
// /metrics on the admin listener, and runs until SIGINT or SIGTERM.
//
// A service's main.go is a call of Main with a setup function that opens the
// service's store and registers its handlers:
//
//	func main() { boot.Main(api.ServiceName, boot.Options{DataDir: true}, setup) }
//
//	func setup(ctx context.Context, svc *boot.Service) error {
//		db, err := store.Open(ctx, svc.DataFile("orders.db"))
//		...
//		return svc.Handle(h)
//	}
//
// Threats it answers:
//
//   - A service that starts half configured, for example with a plaintext
//     Vault URL or a missing credential file, and fails later or runs
//     without a protection. LoadEnv checks every variable before anything
//     starts and reports every bad or missing one at once, each with its
//     fix. Secrets are named only by their files, and no error or log line
//     contains a file's contents.
//   - A service that serves while absent from Consul. The go-micro server
//     only logs a rejected registration; Run checks the registration after
//     the start and exits when it failed, and /readyz reports ready only
//     after that check passed and while the registry has no error.
//   - A shutdown that drops work or leaves a dead entry in discovery. On
//     SIGTERM or SIGINT, /readyz turns not ready, the HTTP and gRPC servers
//     drain within a bound, and the service deregisters before it exits.
//
// With BULWARK_ENV=production, Main also rejects settings that are fine on
// a laptop but unsafe in production (a secret passed as a value, an
// anonymous rate-limit allowance, Redis limits that fail open without an
// explicit choice, debug handlers on a public listener, a certificate that
// lives longer than 24 hours), before it contacts any server. See
// docs/production.md.
//
// The rate limits come from BULWARK_RATELIMIT_FILE and the BULWARK_RATELIMIT_*
// overrides of platform/security/ratelimit/config, checked against the
// endpoints and topics the service registered. SIGHUP reloads them.
package boot
