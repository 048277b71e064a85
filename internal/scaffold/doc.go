// Package scaffold adds a service to a Bulwark repository: the Go packages
// under services/<name>, and every entry its security needs in infra/ and
// docker-compose.yml. `bulwark new service` is its command line.
//
// A generated service gets the same protections as the four shipped ones,
// with nothing to switch on:
//
//   - its own identity: an entry in infra/services.yaml, from which
//     `bulwark bootstrap configure` creates the Vault PKI role, the AppRole,
//     the Vault policy and the Consul secrets-engine role, plus its Consul
//     ACL policy in infra/consul/policies/<name>.hcl that lets it register
//     only its own name;
//   - default deny: infra/authz.yaml declares the service with no callers,
//     so nobody may call it until someone lists a caller;
//   - rate limits in infra/ratelimit/<name>.yaml, rejecting calls without a
//     verified identity;
//   - a compose service with the hardening of the others, its own fixed
//     address and only its own credentials mounted.
//
// The native stack (internal/stack) and tools/stack/compose.sh read the
// list of services from infra/services.yaml, so they need no entry.
//
// NewService checks everything before it writes anything: an invalid name,
// or a name that any of those files already uses, changes nothing. Each
// file is written to a temporary file and renamed into place, and when a
// write fails, the files already written are restored.
package scaffold
