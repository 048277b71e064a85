// Package secure wires a go-micro service with every protection of the
// security platform in one call, so that a new service cannot leave one out.
//
// Threat: a service that leaves out one piece (a client without TLS, a broker
// that accepts plaintext, a server without authorization) reopens the hole
// the others close. NewService builds, from a few settings:
//
//   - a Vault client logged in with the service's AppRole (vaultclient);
//   - a rotating certificate from the service's PKI role (pki);
//   - the go-micro gRPC server with mTLS (mtls.ServerConfig), the authz
//     handler wrapper, a bounded connection age, and go-micro error codes
//     mapped to gRPC codes (grpcerr);
//   - the go-micro gRPC client with mTLS (mtls.ClientConfig), its own
//     selector and a bounded connection pool age;
//   - the mTLS broker with topic authorization (broker).
//
// Before the service starts, it checks that these pieces are still in place,
// because go-micro's Service.Init reads MICRO_* flags and environment
// variables that can replace the server, client or broker with insecure
// defaults. It also checks that every endpoint and topic of the policy is
// served.
//
// Hooks for other platform packages: Config.Registry takes the Consul
// registry, Config.HandlerWrappers and Config.SubscriberWrappers take rate
// limits (they run after authorization, so they can read authz.Caller), and
// Config.GRPCServerOptions takes extra gRPC server options.
package secure
