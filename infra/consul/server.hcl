# Consul server configuration of the Bulwark stack (Consul v1.16.3).
#
# Machine-specific values (data directory, addresses, ports, certificate
# paths, node name, datacenter and the gossip encryption key) live in the
# fragment that `bulwark bootstrap certs` writes to <state>/consul/local.hcl.
# Start Consul with both files:
#
#   consul agent -config-file infra/consul/server.hcl -config-file <state>/consul/local.hcl

server           = true
bootstrap_expect = 1

ui_config {
  enabled = false
}

disable_update_check       = true
enable_script_checks       = false
enable_local_script_checks = false
disable_remote_exec        = true

# Every request needs an ACL token; a request without one gets the anonymous
# token, which has no policy. Tokens set through the agent API (the agent
# token) survive a restart.
acl {
  enabled                  = true
  default_policy           = "deny"
  down_policy              = "extend-cache"
  enable_token_persistence = true
}

# HTTPS is the only client API. Plain HTTP, DNS, gRPC (plain and TLS) and the
# WAN gossip pool are off; the HTTPS, LAN gossip and server RPC ports come
# from the generated fragment.
ports {
  http     = -1
  dns      = -1
  grpc     = -1
  grpc_tls = -1
  serf_wan = -1
}

# Every TLS surface requires a client certificate from the Bulwark root CA,
# and servers check each other's certificate name
# (server.<datacenter>.<domain>). Certificate paths come from the fragment.
tls {
  defaults {
    verify_incoming = true
    verify_outgoing = true
    tls_min_version = "TLSv1_3"
  }

  internal_rpc {
    verify_server_hostname = true
  }
}

# Gossip is encrypted with the key in the fragment; both directions are
# verified.
encrypt_verify_incoming = true
encrypt_verify_outgoing = true

# Raft timing for production-grade hardware, as Consul's documentation
# recommends; the default multiplier of 5 suits only small development
# machines and delays leader election after a restart by several seconds.
performance {
  raft_multiplier = 1
}
