# Portcullis as a container: built from source in one stage, run from a
# small Debian image as a non-root user in the next. The configuration,
# policies and secrets come from the runtime (mount /etc/portcullis; pass
# secrets as environment variables); the audit log goes to /var/log/portcullis
# (mount a volume there, and archive it off the host with [archive]).
#
#   docker build -t portcullis .
#   docker run -p 8080:8080 -v /etc/portcullis:/etc/portcullis:ro \
#     -v portcullis-audit:/var/log/portcullis -e PVE_TOKEN_SECRET portcullis
#
# The configuration must listen on 0.0.0.0:8080 (or set PORTCULLIS_HEALTH_URL
# for the health check) and write audit_log under /var/log/portcullis.

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src src
COPY benches benches
COPY policies policies
RUN cargo build --release --locked --bin portcullis

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/portcullis --shell /usr/sbin/nologin portcullis \
 && install -d -o portcullis -g portcullis -m 0750 /var/log/portcullis /var/lib/portcullis /run/portcullis \
 && install -d -m 0755 /etc/portcullis /usr/share/portcullis
COPY --from=build /src/target/release/portcullis /usr/bin/portcullis
COPY policies /usr/share/portcullis/policies
COPY LICENSE README.md /usr/share/doc/portcullis/
USER portcullis
WORKDIR /var/lib/portcullis
EXPOSE 8080
ENV PORTCULLIS_HEALTH_URL=http://127.0.0.1:8080/healthz
HEALTHCHECK --interval=30s --timeout=5s --retries=3 CMD ["/usr/bin/portcullis", "health"]
ENTRYPOINT ["/usr/bin/portcullis"]
CMD ["serve", "--transport", "http", "--config", "/etc/portcullis/portcullis.toml"]
