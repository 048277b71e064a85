// Package stack runs the secured Bulwark stack as local processes: Consul,
// Vault and Redis on loopback, the bootstrap, and every service that
// infra/services.yaml lists, built from this repository. It backs the
// `bulwark up`, `down`, `clean` and `status` commands in native mode.
//
// Threat: a local stack that is less secure than the one it represents. The
// native stack starts the servers from the repository's own configuration
// (infra/consul/server.hcl, infra/vault/server.hcl and the fragments of
// `bulwark bootstrap certs`). It therefore runs with the same TLS, ACL and
// AppRole settings as the tests and the compose stack. Services receive only file
// paths for their secrets. Redis listens on loopback only, on a TLS 1.3
// port with the server certificate of bootstrap certs. It requires a
// client certificate that chains to the root CA and a login as a named ACL
// user, because the default user is off. The services present their Vault
// certificates to it. Each service logs in as its own user, with a password
// in state/services/<name>/redis-password (0600), and may run only the
// rate-limit store's commands on keys under bulwark:ratelimit:<name>:. The
// operator credentials written for people are read-only:
//
//   - a Consul token that can read the catalog;
//   - a Vault token that can read the configuration but cannot issue
//     certificates or tokens;
//   - a Redis user that can PING, INFO and read rate-limit keys.
//
// Every process runs detached in its own session, so it outlives the
// command that started it. A JSON record in the run directory names its
// process ID and its start time from /proc. Down signals a process only
// while both still match, so a reused process ID is never signalled.
//
// State lives in one directory (default .bulwark at the repository root):
//
//	state/          bootstrap state: CA, server certificates, tokens, AppRoles
//	data/<name>/    one data directory per service, such as users' SQLite file
//	redis/          Redis operator password (0600) and configuration (0600)
//	operator/       read-only operator tokens for Consul and Vault (0600)
//	run/            <name>.json process records and <name>.log logs
//	bin/            the service binaries
//	home/           HOME of the stack's processes
//	env             shell exports for the running stack
//	mode            "native"
//
// Linux only: process checks read /proc.
package stack
