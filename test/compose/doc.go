// Package compose contains a smoke test of the compose stack. The test
// builds the images, brings the stack up with tools/stack/compose.sh,
// registers a user and logs in through the published gateway port, and
// removes everything the stack created. It also checks that only the gateway
// publishes a port, that each container mounts only its own secrets and that
// Redis rejects a client without the password. It needs a Docker engine, so
// it runs only with the build tag compose:
//
//	go test -tags compose -count=1 -timeout 30m ./test/compose
//
// The stack runs under its own compose project, subnet, gateway port and
// state directory, so it does not disturb a stack started by make up.
package compose
