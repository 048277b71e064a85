# Redis from Debian's redis-server package: the binary and the shared
# libraries that ldd lists for it, copied from this machine, plus the
# bulwark binary for the health check. The configuration, which contains
# the password, is mounted at run time.
FROM scratch
LABEL com.bulwark.stack="1" com.bulwark.image="redis"
COPY etc/passwd etc/group /etc/
COPY redis/ /
COPY bin/bulwark /usr/local/bin/
USER 10001:10001
ENTRYPOINT ["/usr/bin/redis-server"]
CMD ["/etc/redis/redis.conf"]
