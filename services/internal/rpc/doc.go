// Package rpc holds the conventions that the Bulwark services share on the
// wire: the content types that let go-micro's gRPC plugins carry plain Go
// structs as JSON, and the shape of the errors that handlers return.
//
// Threat: a backend error that leaks internals (SQL text, file paths, stack
// traces) to a caller, or bad input that surfaces as a 500. Handlers build
// their errors here: client errors carry a field and a reason written for the
// caller, and internal errors are logged in full but sent as a fixed message.
package rpc
