// Package grpcerr gives plain gRPC clients the status code that matches a
// go-micro error code.
//
// The go-micro gRPC server plugin (server/grpc v1.2.0) converts a handler's
// *errors.Error to a gRPC status and attaches the go-micro error as a
// detail, but it maps only some codes: 429 Too Many Requests, for example,
// reaches a plain gRPC client as Unknown. Clients that retry on
// ResourceExhausted or stop on PermissionDenied then misbehave. The stream
// interceptor of this package rewrites the status code from the attached
// go-micro error, using the table in Code, and keeps message and details, so
// go-micro clients still see the original error.
//
// Threat: none directly. It keeps rejections by authorization (403) and rate
// limits (429) recognisable to every client, so they are not retried as
// unknown failures.
package grpcerr
