# Consul ACL policy of the orders service. Orders publishes order events;
# the go-micro HTTP broker registers only subscribers, so publishing needs no
# write on micro.http.broker.

# Register, deregister and update the TTL check of its own service only.
service "orders" {
  policy = "write"
}

# Discover every service, including the micro.http.broker entries of
# subscribers, and the nodes they run on.
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
