# audit2role in a small image, for the scale-out Jobs (docs/scale-out.md) and batch runs.
#   docker build -t audit2role:0.1.0 .
#   docker run --rm -v "$PWD:/data" audit2role:0.1.0 --user alice /data/audit.log
#
# Build stage: Alpine's Rust targets musl, so the binary is static (no libc to ship).
FROM rust:1.85-alpine AS build
RUN apk add --no-cache musl-dev
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs ./
COPY src src
COPY benches benches
COPY csrc csrc
RUN cargo build --release --locked --bin audit2role \
 && strip target/release/audit2role \
 && ./target/release/audit2role man --dir /out/man/man1

# Final stage: the binary and a shell (the Jobs run short scripts), as a user without
# privileges. Its numeric id lets Kubernetes check runAsNonRoot; give volumes fsGroup 10001.
FROM alpine:3.20
RUN addgroup -S -g 10001 audit2role \
 && adduser -S -D -H -u 10001 -G audit2role -h /work audit2role
COPY --from=build /src/target/release/audit2role /usr/local/bin/audit2role
COPY --from=build /out/man /usr/local/share/man
COPY LICENSE /usr/share/licenses/audit2role/LICENSE
USER 10001:10001
WORKDIR /work
ENTRYPOINT ["/usr/local/bin/audit2role"]
