// Package testenv starts real Consul, Vault and (optionally) Redis servers
// on free loopback ports for integration tests, runs the bootstrap against
// them, and hands the test their addresses, the CA and each service's AppRole
// credential files.
//
// Every server runs from the repository's own configuration
// (infra/consul/server.hcl, infra/vault/server.hcl) plus the fragment the
// bootstrap generates. Tests therefore exercise the ACLs, TLS settings and
// policies of the local stack: HTTPS only, client certificates required by
// Consul, ACL default deny, and one AppRole per service.
//
// Binaries are found through BULWARK_CONSUL_BIN, BULWARK_VAULT_BIN and
// BULWARK_REDIS_BIN, then the build cache of tools/servers/ensure.sh, then
// PATH (Consul and Vault only when they report the pinned version). Start
// fails the test when a binary is missing, and skips it under go test -short.
//
// A test uses it like this:
//
//	func TestRegister(t *testing.T) {
//		env := testenv.Start(t, testenv.Options{CertTTL: 5 * time.Minute})
//		role := env.AppRoles["orders"]
//		// Log in to env.VaultAddr with role.RoleIDFile and
//		// role.SecretIDFile, trusting env.CAPool ...
//	}
//
// Servers write their output to files in the environment's directory; a
// failed test prints their last lines. Every process is stopped in
// t.Cleanup (SIGINT, then SIGKILL after a bound) and also receives SIGKILL
// if the test binary dies first, so no server outlives its test.
package testenv
