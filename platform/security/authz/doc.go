// Package authz decides which service may call which endpoint, and which
// service may publish or receive which topic, from a default-deny policy
// file.
//
// Threat: a service that holds a valid certificate (compromised, or simply
// buggy) calling endpoints it has no business with, such as the gateway's
// identity being the only one allowed to log users in. mTLS proves who the
// caller is; this package limits what that caller may do. Identity comes only
// from the verified client certificate (identity.FromPeer), never from
// go-micro metadata such as Remote or Micro-From-Service, which the caller
// writes.
//
// The policy file lists every service identity, then for each service the
// callers of each endpoint, and for each topic its publishers and
// subscribers. Anything not listed is denied. Names that are not declared
// services, endpoints that are not Handler.Method, and duplicate entries are
// errors that name the file and line. CheckEndpoints, run when a service
// starts, reports endpoints of the file that the service does not serve.
//
// HandlerWrapper enforces the policy in a go-micro server. A call without a
// verified identity, or whose verified certificate chain has expired (or is
// not yet valid) at the time of the call, gets a go-micro 401, which plain
// gRPC clients see as Unauthenticated. The time check matters because a gRPC
// connection stays open after the handshake that verified the certificate.
// A call that the policy does not allow gets a 403, which plain gRPC clients
// see as PermissionDenied. Rejections are logged with caller and endpoint,
// and the time rejections also with the certificate's validity. Allowed
// calls reach the handler with the caller's name in the context, read with
// Caller.
package authz
