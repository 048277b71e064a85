# Vault server configuration of the Bulwark stack (Vault v1.14.8).
#
# Storage and the only listener live in the fragment that
# `bulwark bootstrap certs` writes to <state>/vault/local.hcl, because they
# hold this machine's paths and addresses and a listener cannot be split
# across files. That listener is TLS only (tls_disable = false, TLS 1.3 as
# the minimum version) with the server certificate signed by the Bulwark
# root CA. Start Vault with both files:
#
#   vault server -config infra/vault/server.hcl -config <state>/vault/local.hcl
#
# The PKI layout, policies, AppRoles and Consul secrets-engine roles are
# created by `bulwark bootstrap configure`; see infra/vault/README.md.

ui = false

# mlock needs the IPC_LOCK capability, which containers and unprivileged test
# runs lack. With mlock off, memory holding secrets may be swapped to disk:
# run production Vault with swap disabled, or with mlock on.
disable_mlock = true

# Tokens without an explicit TTL live at most one hour; nothing in Bulwark
# needs longer.
default_lease_ttl = "1h"
max_lease_ttl     = "24h"

log_level  = "info"
log_format = "json"
