#!/usr/bin/env bash
# Runs the orderflow services as background processes on this machine.
#
#   bash scripts/run.sh start    build the binaries, start every service that is
#                                not running yet, wait until each answers /readyz
#   bash scripts/run.sh stop     stop the services this script started (SIGTERM)
#   bash scripts/run.sh status   show each service up/down
#
# The infrastructure (Kafka, Postgres, Redis, NATS) comes from scripts/infra.sh;
# `make run` calls both. Logs go to .data/logs/<service>.log, pid files to
# .data/run/<service>.pid. Each service reads its settings from the environment
# (ORDER_…, PAYMENT_…); the defaults match scripts/infra.sh. Authentication
# comes from the development auth directory .data/auth/ (created by
# `bin/token -init`): the gateway trusts its key set (GATEWAY_AUTH_JWKS) and
# every service gets its shared service token (<SERVICE>_SERVICE_TOKEN),
# unless the caller's environment already sets them.
set -euo pipefail

SERVICES=(paymentgateway order payment compensation gateway)
declare -A PORTS=([paymentgateway]=8083 [order]=8081 [payment]=8082 [compensation]=8084 [gateway]=8080)

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
ROOT="$(cd -- "$SCRIPT_DIR/.." && pwd -P)"
BIN="$ROOT/bin"
RUN="$ROOT/.data/run"
LOGS="$ROOT/.data/logs"
AUTH="$ROOT/.data/auth"
DEMO_CUSTOMER=00000000-0000-4000-8000-000000000001

say() { printf '[run] %s\n' "$*"; }
die() { printf '[run] ERROR: %s\n' "$*" >&2; exit 1; }

alive() { [[ -f "$RUN/$1.pid" ]] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null; }

ready() { curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:${PORTS[$1]}/readyz" 2>/dev/null; }

build() {
  say "building service binaries into bin/"
  mkdir -p "$BIN"
  local pkgs=(./tools/cmd/checkinvariants ./tools/cmd/token ./tools/cmd/orderflowctl ./gateway/cmd/rebuild-readmodels)
  for svc in "${SERVICES[@]}"; do pkgs+=("./$svc/cmd/$svc"); done
  (cd "$ROOT" && go build -o "$BIN/" "${pkgs[@]}")
}

start_one() {
  local svc=$1
  if alive "$svc"; then
    say "$svc is already running (pid $(cat "$RUN/$svc.pid"))"
    return
  fi
  if ready "$svc" 2>/dev/null; then
    say "$svc: something already answers on port ${PORTS[$svc]}; reusing it"
    return
  fi
  mkdir -p "$RUN" "$LOGS"
  # The service must not inherit the caller's other descriptors (a lock held
  # by `flock`, make's jobserver pipe): it would hold them as long as it runs.
  (
    for fd in /proc/self/fd/*; do
      fd=${fd##*/}
      if ((fd > 2)); then eval "exec $fd>&-" 2>/dev/null || true; fi
    done
    exec nohup "$BIN/$svc" >>"$LOGS/$svc.log" 2>&1
  ) &
  echo $! >"$RUN/$svc.pid"
  say "started $svc (pid $!), log .data/logs/$svc.log"
}

wait_ready() {
  local svc=$1
  for _ in $(seq 1 300); do
    if ready "$svc"; then return 0; fi
    if ! alive "$svc" && ! ready "$svc" 2>/dev/null; then
      tail -n 30 "$LOGS/$svc.log" >&2 || true
      die "$svc exited; see .data/logs/$svc.log"
    fi
    sleep 0.2
  done
  tail -n 30 "$LOGS/$svc.log" >&2 || true
  die "$svc did not become ready within 60s"
}

# auth_env creates the development auth directory if it is missing and
# exports what the services need from it.
auth_env() {
  "$BIN/token" -init -dir "$AUTH"
  local token; token=$("$BIN/token" -service -dir "$AUTH")
  for svc in "${SERVICES[@]}"; do
    local var="${svc^^}_SERVICE_TOKEN"
    export "$var=${!var:-$token}"
  done
  export GATEWAY_AUTH_JWKS="${GATEWAY_AUTH_JWKS:-$AUTH/jwks.json}"
  # Development: GraphiQL (its headers pane prefilled with the demo
  # customer's token) and introspection, both off unless enabled.
  export GATEWAY_GRAPHIQL="${GATEWAY_GRAPHIQL:-true}" GATEWAY_INTROSPECTION="${GATEWAY_INTROSPECTION:-true}"
  DEMO_TOKEN=$("$BIN/token" -dir "$AUTH" -customer "$DEMO_CUSTOMER" -ttl 168h)
  export GATEWAY_GRAPHIQL_TOKEN="${GATEWAY_GRAPHIQL_TOKEN:-$DEMO_TOKEN}"
  # Traces go to the Jaeger of scripts/infra.sh, unless ORDERFLOW_TRACING=off
  # (make bench measures without them).
  if [[ ${ORDERFLOW_TRACING:-on} != off ]]; then
    export OTEL_EXPORTER_OTLP_ENDPOINT="${OTEL_EXPORTER_OTLP_ENDPOINT:-http://127.0.0.1:4318}"
  else
    unset OTEL_EXPORTER_OTLP_ENDPOINT
  fi
}

cmd_start() {
  command -v curl >/dev/null || { apt-get update -qq && apt-get install -y -qq curl >/dev/null; }
  build
  auth_env
  for svc in "${SERVICES[@]}"; do start_one "$svc"; done
  for svc in "${SERVICES[@]}"; do wait_ready "$svc"; done
  say "all services ready:"
  for svc in "${SERVICES[@]}"; do printf '  %-15s http://127.0.0.1:%s\n' "$svc" "${PORTS[$svc]}"; done
  echo
  say "GraphiQL: http://127.0.0.1:${PORTS[gateway]}/   (GraphQL endpoint http://127.0.0.1:${PORTS[gateway]}/graphql)"
  say "GraphiQL's headers pane holds a token of the demo customer $DEMO_CUSTOMER, valid 7 days:"
  echo "  Authorization: Bearer $DEMO_TOKEN"
  say "more tokens: bin/token -customer <uuid> [-admin] [-ttl 1h]"
  if [[ -n ${OTEL_EXPORTER_OTLP_ENDPOINT:-} ]]; then
    say "traces: Jaeger's query API at http://127.0.0.1:16686/api/traces/<trace id> (an order's trace id: orderTimeline's traceId)"
  fi
}

cmd_stop() {
  for svc in "${SERVICES[@]}"; do
    if alive "$svc"; then
      local pid; pid=$(cat "$RUN/$svc.pid")
      kill -TERM "$pid"
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
      say "stopped $svc"
    fi
    rm -f "$RUN/$svc.pid"
  done
}

cmd_status() {
  for svc in "${SERVICES[@]}"; do
    if ready "$svc" 2>/dev/null; then state=ready; elif alive "$svc"; then state=starting; else state=down; fi
    printf '  %-15s %-9s http://127.0.0.1:%s\n' "$svc" "$state" "${PORTS[$svc]}"
  done
}

case "${1:-}" in
  build)  build ;;
  start)  cmd_start ;;
  stop)   cmd_stop ;;
  status) cmd_status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
