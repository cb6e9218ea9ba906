# One image per service, for docker-compose.yml:
#   docker build --build-arg SERVICE=order -t orderflow/order .
# The build needs cgo: confluent-kafka-go links its bundled librdkafka.
FROM golang:1.26-bookworm AS build
ARG SERVICE
WORKDIR /src
COPY . .
RUN test -n "$SERVICE" && go build -o /out/service ./${SERVICE}/cmd/${SERVICE}

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/service /usr/local/bin/service
USER nobody
ENTRYPOINT ["/usr/local/bin/service"]
