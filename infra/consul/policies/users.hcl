# Consul ACL policy of the users service.

# Register, deregister and update the TTL check of its own service only.
service "users" {
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
# address, and that endpoint needs operator:read. Without it the agent logs
# an ACL error and the plugin may keep the wrong address. operator:read
# shows Raft, autopilot and host details but changes nothing.
operator = "read"
