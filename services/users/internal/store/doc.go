// Package store keeps the users service's accounts and sessions in SQLite.
//
// Threat: a copy of the database file. It holds no password and no session
// token: passwords are argon2id hashes and sessions are keyed by the SHA-256
// hash of their token, so a stolen file cannot be replayed as a login.
package store
