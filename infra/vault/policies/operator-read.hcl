# Vault policy "operator-read": the read-only token that `bulwark up` writes
# for people who inspect the local stack with the vault CLI. It reads the
# configuration that the bootstrap created and nothing that carries a
# secret: it cannot issue certificates, read Consul tokens, read AppRole
# role IDs or secret IDs, create tokens, or change anything.

# List secrets engines, auth methods and policies, and read each policy.
path "sys/mounts" {
  capabilities = ["read"]
}

path "sys/auth" {
  capabilities = ["read"]
}

path "sys/policies/acl" {
  capabilities = ["list"]
}

path "sys/policies/acl/*" {
  capabilities = ["read"]
}

# The PKI intermediate, its issuers and the per-service roles. "+" matches a
# single path segment, so pki_int/issue/<name> stays out of reach.
path "pki_int/roles" {
  capabilities = ["list"]
}

path "pki_int/roles/+" {
  capabilities = ["read"]
}

path "pki_int/issuers" {
  capabilities = ["list"]
}

path "pki_int/issuer/+" {
  capabilities = ["read"]
}

path "pki_int/cert/ca" {
  capabilities = ["read"]
}

# AppRole settings. "+" excludes auth/approle/role/<name>/role-id and
# .../secret-id, which are credentials.
path "auth/approle/role" {
  capabilities = ["list"]
}

path "auth/approle/role/+" {
  capabilities = ["read"]
}

# Consul secrets-engine roles. consul/creds/<name> (which creates a Consul
# token) and consul/config/access stay out of reach.
path "consul/roles" {
  capabilities = ["list"]
}

path "consul/roles/+" {
  capabilities = ["read"]
}

# Look up, renew and revoke this token itself.
path "auth/token/lookup-self" {
  capabilities = ["read"]
}

path "auth/token/renew-self" {
  capabilities = ["update"]
}

path "auth/token/revoke-self" {
  capabilities = ["update"]
}
