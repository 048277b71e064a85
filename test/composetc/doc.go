// Package composetc tests the compose stack of docker-compose.yml end to end
// with testcontainers-go. It lives in its own Go module so that the
// services' go.mod does not carry the Docker and compose dependency tree,
// and the repository's `go test ./...` does not include it.
//
// One test, TestComposeStack, starts one stack and runs everything against
// it:
//
//  1. tools/stack/compose.sh images builds the bulwark-* images offline
//     (no image is pulled).
//  2. The test writes the state that compose.sh up would write (directories,
//     Redis password and redis.conf), then starts docker-compose.yml with
//     testcontainers-go's compose module under its own project name, subnet,
//     gateway port and state directory, so it never meets a stack started
//     by make up.
//  3. It waits for every health check, and for the gateway's /healthz on
//     the published port with the stack's CA.
//  4. Through the published gateway port only, it registers, logs in, lists
//     products, places an order, sees the stock go down, cancels and sees
//     the stock come back, and sends a burst that gets 429 with Retry-After.
//  5. It checks that only the gateway publishes a port, that each container
//     mounts only its own secrets, and that Redis rejects plaintext clients,
//     TLS clients without a certificate and clients without the password.
//  6. It runs `bulwark verify -json` against the stack and requires every
//     check to pass. Then it recreates the gateway with a per-address limit
//     too high for any burst and requires verify's limits group to fail.
//  7. It removes the stack and checks that no container, network or volume
//     of its project is left, also when a step failed. A timer removes the
//     stack shortly before go test's -timeout, which would otherwise kill
//     the process before any cleanup runs.
//
// The compose module (github.com/docker/compose/v5 as a library) starts the
// stack, so no docker compose v2 plugin is needed. It does not run
// compose.sh, so the state preparation and the read-only operator tokens of
// the env file are written by this package in the same way; see state_test.go.
// The reaper container (Ryuk) cannot be pulled here, so TestMain turns it
// off with TESTCONTAINERS_RYUK_DISABLED=true and the test removes what it
// started itself. TestMain also sets TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1:
// the compose file publishes the gateway on loopback only, and inside a
// container testcontainers-go would report the container's default gateway
// as the Docker host instead. The suite therefore needs a local engine.
//
// Run it alone from the repository root (a Docker engine is required; the
// test skips without one):
//
//	cd test/composetc && go test -count=1 -timeout 30m -v .
//
// BULWARK_TEST_SUBNET_PREFIX sets the first three octets of the stack's
// internal /24 (default 172.30.155) when that subnet is taken.
// BULWARK_IMAGE_TAG sets the tag of the bulwark-* images (default local),
// as it does for compose.sh. BULWARK_TEST_IMAGES=keep skips the image build
// and uses the images as they are, which saves time while editing tests.
package composetc
