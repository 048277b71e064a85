// Package vaultclient logs a service in to Vault with its AppRole and keeps
// the resulting Vault token valid for as long as the service runs.
//
// Threat: a service that reaches Vault over an unverified or plaintext link
// hands its AppRole secret_id, and every secret it reads afterwards, to
// whoever sits on that link. A service whose token silently expires loses
// its certificates and Consul tokens at the next rotation. This package
// therefore accepts only https:// Vault addresses, verifies Vault's
// certificate against a CA file (never the system roots and never the
// VAULT_* environment variables), reads role_id and secret_id from files,
// renews the token at about two thirds of its lifetime, and logs in again
// when Vault refuses a renewal or the token reached its maximum TTL.
//
// Neither the token nor the secret_id is ever logged or put in an error
// message; logs name the token only by its accessor.
//
// Other packages read their secrets through Client.API, which stays valid
// across token changes because the token is swapped in place.
package vaultclient
