// Package sqlitedb opens the embedded SQLite database of a service and brings
// its schema up to date.
//
// Every connection runs in WAL mode with synchronous=FULL, so a transaction
// that returned from Commit survives a crash or power loss, with a busy
// timeout so that concurrent writers wait instead of failing at once, and
// with foreign keys enforced. Transactions start with BEGIN IMMEDIATE, which
// takes the write lock up front: two read-then-write transactions cannot both
// read and then fail to upgrade, so they are serialized instead of deadlocked.
//
// The driver is modernc.org/sqlite, which is written in Go, so services build
// with CGO_ENABLED=0.
package sqlitedb
