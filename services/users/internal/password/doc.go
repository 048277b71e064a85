// Package password hashes and checks user passwords with argon2id and checks
// new passwords against the service's rules.
//
// Threat: a stolen users database. Each password is stored only as an
// argon2id hash with its own random salt, so equal passwords get different
// hashes and every guess costs the attacker the full memory and time of the
// parameters below. Hashes are compared in constant time. Passwords longer
// than MaxBytes are rejected before hashing, so a request cannot make the
// service hash megabytes.
package password
