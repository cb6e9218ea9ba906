#!/usr/bin/env bash
# The end-to-end load benchmark (`make bench`): makes sure every service runs
# the current code, then runs tools/cmd/loadbench against the running system.
#
#   bash scripts/bench.sh [short|long]    (default short: under 3 minutes)
#
# The whole run holds /tmp/orderflow-bench.lock, so that two benchmarks on
# this machine never overlap (they would measure each other). Results go to
# bench/results/latest.{json,html,png} and docs/performance.md (the loadbench
# section). Exits non-zero if the benchmark could not run, an order was lost
# or an invariant was violated.
set -euo pipefail

PROFILE=${1:-${PROFILE:-short}}
SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
ROOT="$(cd -- "$SCRIPT_DIR/.." && pwd -P)"
RUN="$ROOT/.data/run"
LOCK=/tmp/orderflow-bench.lock
SERVICES=(paymentgateway order payment compensation gateway)

say() { printf '[bench] %s\n' "$*"; }

cd "$ROOT"
bash scripts/browser.sh >/dev/null # Chromium renders the PNG

# stale says whether a service runs a binary other than bin/<service> as
# built now (go build replaces the file, so the running process keeps the
# old inode).
# A service that exports traces is stale too: the benchmark measures the
# system without tracing (ORDERFLOW_TRACING=off below), so that its figures
# compare across runs.
stale() {
  local svc=$1 pid
  [[ -f "$RUN/$svc.pid" ]] || return 1
  pid=$(cat "$RUN/$svc.pid")
  kill -0 "$pid" 2>/dev/null || return 1
  ! [[ /proc/$pid/exe -ef "$ROOT/bin/$svc" ]] || tr '\0' '\n' <"/proc/$pid/environ" | grep -q '^OTEL_EXPORTER_OTLP_ENDPOINT='
}
export ORDERFLOW_TRACING=off

run_locked() {
  bash scripts/run.sh build
  local restart=0
  for svc in "${SERVICES[@]}"; do
    if stale "$svc"; then say "$svc runs an older build, or exports traces"; restart=1; fi
  done
  if ((restart)); then
    say "restarting the services on the current build"
    bash scripts/run.sh stop
  fi
  bash scripts/run.sh start | grep -v '^  ' || true
  bash scripts/run.sh status | grep -q ' down ' && { say "a service is down; see .data/logs"; return 1; }
  go build -o bin/loadbench ./tools/cmd/loadbench
  say "running the load benchmark, profile $PROFILE"
  bin/loadbench -profile "$PROFILE"
}

if [[ ${ORDERFLOW_BENCH_LOCKED:-} == 1 ]]; then
  run_locked
else
  say "waiting for $LOCK (another benchmark may be running)"
  ORDERFLOW_BENCH_LOCKED=1 exec flock "$LOCK" bash "$0" "$PROFILE"
fi
