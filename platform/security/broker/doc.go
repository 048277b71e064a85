// Package broker carries go-micro events between services over the same
// mTLS as calls, and gives each subscriber the verified identity of the
// publishing service.
//
// Threat: go-micro's HTTP broker (go-micro v4.11.0) accepts plaintext
// publishes unless given a TLS config, and skips verification of subscribers
// when it has none. Even with TLS, it gives subscribers no sign of who
// published. Any process that can reach a subscriber's port could inject
// events. The Consul entries of subscribers (the shared service name
// micro.http.broker) cannot be kept apart by Consul ACLs.
//
// This broker speaks the HTTP broker's protocol (the same registry entries
// and JSON message body, POSTed to the subscriber) but only over mTLS:
//
//   - a subscriber's endpoint requires a client certificate from the CA
//     bundle, so a plaintext or unauthenticated publish fails in the TLS
//     handshake;
//   - the subscriber rejects (401) each message whose publisher
//     certificate chain has expired or is not yet valid at the time of
//     the message, because a publisher reuses a connection long after the
//     handshake that verified it;
//   - the subscriber reads the publisher's identity from that verified
//     certificate and checks it against the topic's publishers in the authz
//     policy (403 otherwise). It passes the identity to handlers in the
//     PublisherHeader header, overwriting whatever the publisher sent, and
//     SubscriberWrapper puts it in the context for authz.Caller;
//   - a publisher delivers only to subscribers whose certificate names a
//     service that the policy allows to receive the topic, and never to a
//     subscriber registered without TLS;
//   - Publish is synchronous and returns delivery errors, in place of the
//     HTTP broker's silent in-memory retry queue.
//
// Connections are reused. A subscriber responds with "Connection: close"
// once a connection is older than MaxConnectionAge. The publisher then
// reconnects, so rotated certificates come into use within a known time.
package broker
