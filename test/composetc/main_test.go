package composetc

import (
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	// The reaper image cannot be pulled on machines without registry
	// access. testcontainers-go reads this once, before the first
	// container or compose stack, so it is set before any test runs.
	if err := os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true"); err != nil {
		panic(err)
	}
	// docker-compose.yml publishes the gateway on 127.0.0.1 only. Inside a
	// container, testcontainers-go would otherwise report the container's
	// default gateway as the Docker host and send requests there.
	if err := os.Setenv("TESTCONTAINERS_HOST_OVERRIDE", "127.0.0.1"); err != nil {
		panic(err)
	}
	os.Exit(m.Run())
}
