package foundation_test

import (
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/internal/testenv"
)

// certTTL is the max_ttl of the PKI roles in these tests: minutes, as in
// every test environment, so that a wrong TTL shows.
const certTTL = 5 * time.Minute

// TestFoundation starts one environment and runs every protection test
// against it, because starting Consul and Vault and bootstrapping them
// costs a few seconds.
func TestFoundation(t *testing.T) {
	env := testenv.Start(t, testenv.Options{CertTTL: certTTL, ConsulTokenTTL: 10 * time.Minute})

	t.Run("consul", func(t *testing.T) { consulTests(t, env) })
	t.Run("vault", func(t *testing.T) { vaultTests(t, env) })
	t.Run("bootstrap", func(t *testing.T) { bootstrapTests(t, env) })
}
