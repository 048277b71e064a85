# Consul ACL policy of the inventory service. Inventory subscribes to order
# events.

# Register, deregister and update the TTL check of its own service only.
service "inventory" {
  policy = "write"
}

# Each subscription of go-micro's HTTP broker (go-micro v4.11.0) registers
# the shared service name micro.http.broker, with ID
# <topic>-go.micro.http.broker-<uuid> and a one-minute TTL. Every subscriber
# writes that one name, so Consul ACLs cannot keep one subscriber's entries
# apart from another's; the broker's mTLS and the publisher's verified
# identity provide that separation.
service "micro.http.broker" {
  policy = "write"
}

# Discover every service and the nodes they run on.
service_prefix "" {
  policy = "read"
}

node_prefix "" {
  policy = "read"
}

# The go-micro Consul registry plugin (registry/consul v1.2.1) calls
# /v1/agent/host on every registry creation and Init to pick a reachable
# address, and that endpoint needs operator:read. operator:read shows Raft,
# autopilot and host details but changes nothing.
operator = "read"
