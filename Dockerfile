# tulayd and the tulay CLI on Debian bookworm.
#
#   docker build -t tulay .
#   docker-compose up -d            (with PostgreSQL: see docker-compose.yml)
#
# The image runs `tulayd migrate up` and then `tulayd serve`, configured through the
# environment: TULAY_DB (libpq connection string), TULAY_LISTEN, TULAY_PORT,
# TULAY_MIGRATIONS, TULAY_DATA_KEY_FILE, TULAY_TLS_CERT/TULAY_TLS_KEY (TLS 1.3; without
# them a development certificate is made on first start: see docker/entrypoint.sh).

# --- build --------------------------------------------------------------------------------
FROM debian:bookworm-slim AS build

RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config \
      libuv1-dev libprotobuf-c-dev protobuf-c-compiler \
      libpq-dev libssl-dev libsodium-dev libjansson-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . .
RUN cmake -S . -B /build -DTULAY_TESTS=OFF -DCMAKE_BUILD_TYPE=Release \
 && cmake --build /build -j"$(nproc)" \
 && test -x /build/server/tulayd && test -x /build/client/tulay

# --- runtime ------------------------------------------------------------------------------
FROM debian:bookworm-slim

RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libuv1 libprotobuf-c1 libpq5 libssl3 libsodium23 libjansson4 ca-certificates openssl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin tulay

COPY --from=build /build/server/tulayd /build/client/tulay /usr/local/bin/
COPY migrations/ /usr/share/tulay/migrations/
COPY docker/entrypoint.sh /usr/local/bin/tulay-entrypoint
COPY scripts/dev-certs.sh /usr/local/bin/tulay-dev-certs
# Fail the build here, not at start-up, if a shared library is missing.
RUN chmod 0755 /usr/local/bin/tulay-entrypoint /usr/local/bin/tulay-dev-certs \
 && ! ldd /usr/local/bin/tulayd /usr/local/bin/tulay | grep 'not found'

RUN install -d -o tulay -g tulay -m 0700 /var/lib/tulay

ENV TULAY_LISTEN=0.0.0.0 \
    TULAY_PORT=7420 \
    TULAY_MIGRATIONS=/usr/share/tulay/migrations

USER tulay:tulay
EXPOSE 7420
ENTRYPOINT ["/usr/local/bin/tulay-entrypoint"]
