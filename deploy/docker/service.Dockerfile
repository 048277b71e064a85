# Image of one Bulwark service: the static service binary, the authorization
# table and the service's rate limits, on an empty base. tools/stack/compose.sh
# builds it from a staging directory (see deploy/README.md), and SERVICE
# names the binary in bin/.
FROM scratch
ARG SERVICE
LABEL com.bulwark.stack="1" com.bulwark.image="${SERVICE}"
COPY etc/passwd etc/group /etc/
COPY infra/authz.yaml /etc/bulwark/authz.yaml
COPY infra/ratelimit/${SERVICE}.yaml /etc/bulwark/ratelimit.yaml
COPY bin/${SERVICE} /usr/local/bin/service
ENV BULWARK_AUTHZ_FILE=/etc/bulwark/authz.yaml \
    BULWARK_RATELIMIT_FILE=/etc/bulwark/ratelimit.yaml
USER 10001:10001
ENTRYPOINT ["/usr/local/bin/service"]
