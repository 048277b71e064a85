# Vault v1.14.8 from the binary of tools/servers/ensure.sh, with the stack's
# server configuration and the bulwark binary for the health check.
FROM scratch
LABEL com.bulwark.stack="1" com.bulwark.image="vault"
COPY etc/passwd etc/group /etc/
COPY infra/vault/server.hcl /etc/bulwark/vault/server.hcl
# The server binary changes least, so its layer comes first and stays cached.
COPY bin/vault /usr/local/bin/
COPY bin/bulwark /usr/local/bin/
ENV HOME=/tmp
USER 10001:10001
ENTRYPOINT ["/usr/local/bin/vault"]
CMD ["server", "-config", "/etc/bulwark/vault/server.hcl", "-config", "/state/vault/local.hcl"]
