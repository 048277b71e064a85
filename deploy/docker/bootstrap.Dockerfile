# The bulwark command with the infra directory it reads: services.yaml and
# the Consul and Vault policies. Runs `bulwark bootstrap certs` and
# `configure` in the compose stack.
FROM scratch
LABEL com.bulwark.stack="1" com.bulwark.image="bootstrap"
COPY etc/passwd etc/group /etc/
COPY infra/ /infra/
COPY bin/bulwark /usr/local/bin/
USER 10001:10001
ENTRYPOINT ["/usr/local/bin/bulwark"]
