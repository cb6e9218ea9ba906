# One image per service, for docker-compose.yml:
#   docker build --build-arg SERVICE=order -t orderflow/order .
# The build needs cgo: confluent-kafka-go links its bundled librdkafka. The
# gateway embeds GraphiQL, whose assets the node stage bundles first (the
# same script as `make graphiql`).
FROM node:20-bookworm AS graphiql
WORKDIR /src
COPY scripts/graphiql-assets.sh scripts/
COPY gateway/graphiql/web/package.json gateway/graphiql/web/package-lock.json gateway/graphiql/web/
COPY gateway/graphiql/web/src gateway/graphiql/web/src
RUN mkdir -p gateway/graphiql/dist && bash scripts/graphiql-assets.sh

FROM golang:1.26-bookworm AS build
ARG SERVICE
WORKDIR /src
COPY . .
COPY --from=graphiql /src/gateway/graphiql/dist gateway/graphiql/dist
RUN test -n "$SERVICE" && go build -o /out/service ./${SERVICE}/cmd/${SERVICE}

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/service /usr/local/bin/service
USER nobody
ENTRYPOINT ["/usr/local/bin/service"]
