# syntax=docker/dockerfile:1
# The hub as a container: build with the Rust toolchain, run from a slim Debian image as an
# unprivileged user. Schemas are compiled into the binary; the image adds only the sample
# configuration and data, so `docker compose up` runs the whole story (see docker-compose.yml).
#
#   docker build -t samverkan .
#   docker run --rm samverkan --help

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
# The registry and target caches persist between builds (BuildKit), so a change to the sources
# does not download or rebuild the dependencies.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin samverkan \
    && cp target/release/samverkan /usr/local/bin/samverkan

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/samverkan --create-home samverkan
COPY --from=build /usr/local/bin/samverkan /usr/local/bin/samverkan
COPY config/ /etc/samverkan/config/
COPY sample-data/ /etc/samverkan/sample-data/
USER samverkan
WORKDIR /var/lib/samverkan
# Logs as JSON lines on stderr; HTTP (health, metrics, the partner API) on 8080.
ENV SAMVERKAN__LOG__FORMAT=json \
    SAMVERKAN__HTTP__LISTEN=0.0.0.0:8080
EXPOSE 8080
ENTRYPOINT ["samverkan"]
CMD ["--config", "/etc/samverkan/config/sample.toml", "run"]
