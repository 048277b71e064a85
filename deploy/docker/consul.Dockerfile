# Consul v1.16.3 from the binary of tools/servers/ensure.sh, with the stack's
# server configuration and the bulwark binary for the health check.
FROM scratch
LABEL com.bulwark.stack="1" com.bulwark.image="consul"
COPY etc/passwd etc/group /etc/
COPY infra/consul/server.hcl /etc/bulwark/consul/server.hcl
# The server binary changes least, so its layer comes first and stays cached.
COPY bin/consul /usr/local/bin/
COPY bin/bulwark /usr/local/bin/
USER 10001:10001
ENTRYPOINT ["/usr/local/bin/consul"]
CMD ["agent", "-config-file", "/etc/bulwark/consul/server.hcl", "-config-file", "/state/consul/local.hcl"]
