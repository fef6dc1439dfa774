# One image for every Heatline service: `heatline serve --only NAME` picks the service.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release -p heatline

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /var/lib/heatline/photos \
    && chown -R nobody:nogroup /var/lib/heatline
COPY --from=build /src/target/release/heatline /usr/local/bin/heatline
USER nobody
ENV HEATLINE_ADDR=0.0.0.0:8080 \
    HEATLINE_PHOTO_STORE=/var/lib/heatline/photos
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=6 CMD curl -fsS http://127.0.0.1:8080/readyz || exit 1
ENTRYPOINT ["heatline"]
CMD ["serve"]
