// Package compose contains a smoke test of tools/stack/compose.sh, the path
// that make up takes in compose mode: the script builds the images, brings
// the stack up with docker-compose, and writes the mode and env files. The
// test then registers a user and logs in through the published gateway port,
// and removes everything the stack created. It needs a Docker engine, so it
// runs only with the build tag compose:
//
//	go test -tags compose -count=1 -timeout 30m ./test/compose
//
// make test does not run it. The suite that make test and CI run is
// test/composetc, which starts the same docker-compose.yml with
// testcontainers-go and also checks ports, mounts, Redis, the order flow and
// bulwark verify.
//
// The stack runs under its own compose project, subnet, gateway port and
// state directory, so it does not disturb a stack started by make up.
package compose
