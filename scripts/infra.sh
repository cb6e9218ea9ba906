#!/usr/bin/env bash
# orderflow infrastructure without Docker: Apache Kafka (KRaft), PostgreSQL, Redis,
# NATS JetStream and Jaeger (traces) as plain processes on loopback.
#
#   bash scripts/infra.sh up      install what is missing, start what is not running,
#                                 wait until everything answers, create topics/DBs
#   bash scripts/infra.sh down    stop what this script started (pid files in .data/run)
#   bash scripts/infra.sh stop S  stop one server (kafka|nats|redis|postgres|jaeger|toxiproxy) that it started
#   bash scripts/infra.sh status  show each server up/down
#   bash scripts/infra.sh env     print the export lines tests and services use
#
# Idempotent: a server already answering on its port is reused, never started twice;
# only missing software is installed. All state lives in <repo>/.data/ (git-ignored):
#   .data/kafka/{libs,data,kafka.log,server.properties,cluster.id}
#   .data/postgres/ (PGDATA)  .data/postgres.log
#   .data/redis/{redis.log}   .data/nats/{jetstream,nats.log}   .data/bin/nats-server
#   .data/jaeger/jaeger.log   .data/bin/jaeger
#   .data/toxiproxy/toxiproxy.log   .data/bin/toxiproxy-server (the chaos tests' proxies)
#   .data/run/*.pid
# docker-compose.yml describes the same servers (same ports, users, databases) for
# people who have Docker.
set -euo pipefail

# ------------------------------------------------------------------ settings --
KAFKA_VERSION="${KAFKA_VERSION:-4.1.1}"      # org.apache.kafka:kafka_2.13 on Maven Central
NATS_VERSION="${NATS_VERSION:-v2.14.10}"     # github.com/nats-io/nats-server/v2, built with go install
# Jaeger v2 (github.com/jaegertracing/jaeger/cmd/jaeger): its version is the tool
# line of infra/jaeger/go.mod, built with go build in that module
# Toxiproxy (github.com/Shopify/toxiproxy/v2, its server is the module's cmd/server
# package), built with go install; the chaos tests put its proxies between the
# services and Postgres, Redis, NATS and the PSP
TOXIPROXY_VERSION="${TOXIPROXY_VERSION:-v2.12.0}"

# Kafka topics, "name:partitions" (replication factor is 1: a single broker)
KAFKA_TOPICS=(
  "orderflow.order.events:6"
  "orderflow.payment.events:6"
  "orderflow.compensation.events:6"
  "orderflow.deadletter:3"
)

HOST=127.0.0.1
KAFKA_PORT=9092
KAFKA_CONTROLLER_PORT=9093
KAFKA_JMX_PORT=9101 # loopback only: the broker's request metrics, for the benchmarks
PG_PORT=5432
REDIS_PORT=6379
NATS_PORT=4222
NATS_HTTP_PORT=8222
JAEGER_OTLP_PORT=4318    # OTLP/HTTP, the services' OTEL_EXPORTER_OTLP_ENDPOINT (gRPC on 4317)
JAEGER_UI_PORT=16686     # query API (and UI page)
JAEGER_HEALTH_PORT=13133
TOXIPROXY_PORT=8474      # toxiproxy's API; each proxy listens on a port it is given (tests: 127.0.0.1:0)

PG_APP_USER=orderflow
PG_APP_PASSWORD=orderflow
PG_CHECK_DB=orderflow_order

# broker JVM: small heap; the tools JVM (topic list/create) is tuned for start-up time
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
KAFKA_TOOL_JVM_OPTS=(-Xms32m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto)

# ------------------------------------------------------------------- layout --
SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
ROOT="$(cd -- "$SCRIPT_DIR/.." && pwd -P)"
DATA="$ROOT/.data"
RUN="$DATA/run"

KAFKA_DIR="$DATA/kafka"
KAFKA_LIBS="$KAFKA_DIR/libs"
KAFKA_DATA="$KAFKA_DIR/data"
KAFKA_LOG="$KAFKA_DIR/kafka.log"
KAFKA_PROPS="$KAFKA_DIR/server.properties"
KAFKA_ADMIN_PROPS="$KAFKA_DIR/admin.properties"
KAFKA_POM="$ROOT/infra/kafka/pom.xml"
KAFKA_LOG4J="$ROOT/infra/kafka/log4j2.properties"

PG_DATA="$DATA/postgres"
PG_LOG="$DATA/postgres.log"
PG_INIT_SQL="$ROOT/infra/postgres/init.sql"

REDIS_DIR="$DATA/redis"
REDIS_LOG="$REDIS_DIR/redis.log"

NATS_BIN="$DATA/bin/nats-server"
NATS_DIR="$DATA/nats"
NATS_LOG="$NATS_DIR/nats.log"
NATS_CONF="$ROOT/infra/nats/nats.conf"

JAEGER_BIN="$DATA/bin/jaeger"
JAEGER_DIR="$DATA/jaeger"
JAEGER_LOG="$JAEGER_DIR/jaeger.log"
JAEGER_MODULE="$ROOT/infra/jaeger"
JAEGER_CONF="$JAEGER_MODULE/config.yaml"

TOXIPROXY_BIN="$DATA/bin/toxiproxy-server"
TOXIPROXY_DIR="$DATA/toxiproxy"
TOXIPROXY_LOG="$TOXIPROXY_DIR/toxiproxy.log"

# ------------------------------------------------------------------ helpers --
T0=$SECONDS
say()  { printf '[infra %3ds] %s\n' "$((SECONDS - T0))" "$*"; }
warn() { printf '[infra %3ds] WARNING: %s\n' "$((SECONDS - T0))" "$*" >&2; }
die()  { printf '\n[infra] ERROR: %s\n' "$*" >&2; exit 1; }
rel()  { printf '%s' "${1#"$ROOT"/}"; }     # path relative to the repo, for messages

show_log() {   # show_log FILE [LINES]
  local f=$1 n=${2:-40}
  if [[ ! -r $f ]]; then printf -- '----- %s: no log file -----\n' "$f" >&2; return 0; fi
  printf -- '----- last %s lines of %s -----\n' "$n" "$f" >&2
  tail -n "$n" -- "$f" >&2
  local errs
  # error lines from before the shown tail (e.g. the cause above a long stack trace)
  errs=$(head -n "-$n" -- "$f" | tail -n 2000 | grep -E 'ERROR|FATAL|PANIC|\[FTL\]|\[ERR\]|# ' | grep -v '^[[:space:]]' | tail -n 5 || true)
  [[ -n $errs ]] && printf -- '----- last error lines before that -----\n%s\n' "$errs" >&2
  printf -- '-----\n' >&2
}

# port_open HOST PORT: something accepts TCP connections there
# shellcheck disable=SC2016  # $0/$1 are expanded by the inner bash
port_open() { timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" 2>/dev/null; }

# alive PID: the process exists and is not a zombie (a daemon we started is reparented
# to init, which may reap it late; kill -0 alone would still succeed on the zombie)
alive() {
  kill -0 "$1" 2>/dev/null || return 1
  local st
  st=$(sed 's/.*) //; s/ .*//' "/proc/$1/stat" 2>/dev/null) || return 0   # state follows "(comm) "
  [[ $st != Z && $st != X ]]
}

# pid_of NAME PATTERN: print the pid from .data/run/NAME.pid if that process is alive
# and its command line contains PATTERN (guards against a recycled pid); else fail
pid_of() {
  local f="$RUN/$1.pid" pid
  [[ -r $f ]] || return 1
  read -r pid <"$f" || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  alive "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$2" || return 1
  printf '%s\n' "$pid"
}

need_root() {
  [[ $(id -u) -eq 0 ]] || die "installing $* needs root (apt-get); run as root or install it by hand"
}

# apt_install PKG...: install Debian packages without starting their services (a
# container has no systemd; postinst scripts that try would fail or start a second,
# unwanted server). policy-rc.d exit 101 = "action not allowed".
apt_install() {
  need_root "$*"
  say "installing Debian package(s): $* (apt-get)"
  local policy=/usr/sbin/policy-rc.d own_policy=0 rc=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\n# temporary, from orderflow scripts/infra.sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"; own_policy=1
  fi
  local apt_log="$DATA/apt.log"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y --no-install-recommends "$@" >>"$apt_log" 2>&1; then
    say "apt-get install failed; running apt-get update and retrying"
    { apt-get update >>"$apt_log" 2>&1 && apt-get install -y --no-install-recommends "$@" >>"$apt_log" 2>&1; } || rc=$?
  fi
  [[ $own_policy -eq 1 ]] && rm -f "$policy"
  if [[ $rc -ne 0 ]]; then show_log "$apt_log" 30; die "apt-get install $* failed (log: $(rel "$apt_log"))"; fi
}

# wait_until DESCRIPTION TIMEOUT LOGFILE PIDNAME PIDPATTERN COMMAND...
# Retries COMMAND every second. Fails early if the process we started has died.
wait_until() {
  local what=$1 timeout=$2 log=$3 pidname=$4 pattern=$5; shift 5
  local deadline=$((SECONDS + timeout))
  while ! "$@" >/dev/null 2>&1; do
    if [[ -n $pidname ]] && ! pid_of "$pidname" "$pattern" >/dev/null; then
      show_log "$log"; die "$what: the process exited before answering (log: $log)"
    fi
    if ((SECONDS >= deadline)); then
      show_log "$log"; die "$what: no answer after ${timeout}s (log: $log)"
    fi
    sleep 1
  done
}

# stop_pid NAME PATTERN SIGNAL TIMEOUT: graceful stop of a process we started
stop_pid() {
  local name=$1 pattern=$2 sig=$3 timeout=$4 pid
  if ! pid=$(pid_of "$name" "$pattern"); then
    if [[ -e $RUN/$name.pid ]]; then rm -f "$RUN/$name.pid"; say "$name: not running (stale pid file removed)"
    else say "$name: not started by infra.sh, left alone"; fi
    return 0
  fi
  say "$name: stopping pid $pid (SIG$sig, up to ${timeout}s)"
  kill -s "$sig" "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + timeout))
  while alive "$pid" && ((SECONDS < deadline)); do sleep 0.2; done
  if alive "$pid"; then
    warn "$name: still running after ${timeout}s, sending SIGKILL"
    kill -s KILL "$pid" 2>/dev/null || true
    sleep 0.5
  fi
  rm -f "$RUN/$name.pid"
  say "$name: stopped"
}

declare -A STATE=() DETAIL=()
record() { STATE[$1]=$2; DETAIL[$1]=$3; }

# --------------------------------------------------------------------- Kafka --
JAVA=""
find_java() {
  local j v
  for j in "${JAVA_HOME:+$JAVA_HOME/bin/java}" "$(command -v java || true)" /usr/lib/jvm/java-17-openjdk-*/bin/java; do
    [[ -n $j && -x $j ]] || continue
    v=$("$j" -XshowSettings:properties -version 2>&1 | awk -F' = ' '/java.specification.version/ {print $2}')
    [[ ${v%%.*} =~ ^[0-9]+$ ]] && ((${v%%.*} >= 17)) && { JAVA=$j; return 0; }
  done
  return 1
}

ensure_java() {
  [[ -n $JAVA ]] && return 0
  find_java && return 0
  apt_install openjdk-17-jre-headless
  find_java || die "no Java 17+ found after installing openjdk-17-jre-headless (Kafka 4 needs Java 17+)"
}

kafka_fetch() {
  local stamp="$KAFKA_LIBS/.orderflow-stamp" want
  want="kafka=$KAFKA_VERSION pom=$(sha256sum "$KAFKA_POM" | cut -c1-16)"
  if [[ -r $stamp && "$(<"$stamp")" == "$want" && -f $KAFKA_LIBS/kafka_2.13-$KAFKA_VERSION.jar ]]; then
    return 0
  fi
  command -v mvn >/dev/null || apt_install maven
  say "kafka: fetching Apache Kafka $KAFKA_VERSION jars from Maven Central (once; ~45 MB)"
  local tmp="$KAFKA_DIR/libs.tmp" mvn_log="$KAFKA_DIR/mvn.log"
  rm -rf -- "$tmp"
  if ! (cd "$ROOT" && mvn -q -B -Dstyle.color=never -f "$KAFKA_POM" -Dkafka.version="$KAFKA_VERSION" \
          dependency:copy-dependencies -DoutputDirectory="$tmp") >"$mvn_log" 2>&1; then
    show_log "$mvn_log" 30
    die "kafka: Maven could not fetch org.apache.kafka:kafka_2.13:$KAFKA_VERSION and its dependencies from Maven Central (log: $(rel "$mvn_log")). There is no fallback: no broker is started."
  fi
  local j
  for j in "kafka_2.13-$KAFKA_VERSION.jar" "kafka-tools-$KAFKA_VERSION.jar" "kafka-clients-$KAFKA_VERSION.jar"; do
    [[ -f $tmp/$j ]] || die "kafka: $j missing after the Maven download (log: $(rel "$mvn_log"))"
  done
  rm -rf -- "$KAFKA_LIBS"
  mv -- "$tmp" "$KAFKA_LIBS"
  printf '%s\n' "$want" >"$KAFKA_LIBS/.orderflow-stamp"
}

# kafka_tool CLASS ARGS...: run a Kafka CLI class in a short-lived, quiet JVM
kafka_tool() {
  "$JAVA" "${KAFKA_TOOL_JVM_OPTS[@]}" -Dlog4j2.configurationFile="$KAFKA_LOG4J" \
    -Dorderflow.kafka.log.level=WARN -cp "$KAFKA_LIBS/*" "$@"
}

kafka_list_topics() {
  timeout 60 "$JAVA" "${KAFKA_TOOL_JVM_OPTS[@]}" -Dlog4j2.configurationFile="$KAFKA_LOG4J" \
    -Dorderflow.kafka.log.level=ERROR -cp "$KAFKA_LIBS/*" org.apache.kafka.tools.TopicCommand \
    --bootstrap-server "$HOST:$KAFKA_PORT" --command-config "$KAFKA_ADMIN_PROPS" --list
}

kafka_write_config() {
  local tpl
  tpl=$(<"$ROOT/infra/kafka/server.properties")
  printf '# GENERATED by scripts/infra.sh from infra/kafka/server.properties; edit that file\n%s\n' \
    "${tpl//@KAFKA_DATA_DIR@/"$KAFKA_DATA"}" >"$KAFKA_PROPS.tmp"
  # admin client settings for the topic tool: fail fast instead of hanging
  printf 'request.timeout.ms=10000\ndefault.api.timeout.ms=20000\n' >"$KAFKA_ADMIN_PROPS.tmp"
  local f
  for f in "$KAFKA_PROPS" "$KAFKA_ADMIN_PROPS"; do   # replace only when changed
    if cmp -s -- "$f.tmp" "$f"; then rm -f -- "$f.tmp"; else mv -f -- "$f.tmp" "$f"; fi
  done
}

kafka_format() {
  [[ -f $KAFKA_DATA/meta.properties ]] && return 0
  local cid_file="$KAFKA_DIR/cluster.id" cid
  if [[ ! -s $cid_file ]]; then
    # a Kafka cluster id is a random UUID, base64url without padding (22 chars);
    # made here rather than with `StorageTool random-uuid` to save a JVM start; like
    # Kafka's own generator, never starting with '-' (it would parse as an option)
    cid=-
    while [[ $cid == -* ]]; do
      cid=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
    done
    printf '%s\n' "$cid" >"$cid_file"
  fi
  cid=$(tr -d '[:space:]' <"$cid_file")
  say "kafka: formatting KRaft storage in $(rel "$KAFKA_DATA") (cluster id $cid)"
  mkdir -p "$KAFKA_DATA"
  if ! kafka_tool kafka.tools.StorageTool format --ignore-formatted -t "$cid" -c "$KAFKA_PROPS" \
        >>"$KAFKA_LOG" 2>&1; then
    show_log "$KAFKA_LOG"; die "kafka: storage format failed"
  fi
}

kafka_up() {
  local pid
  if port_open "$HOST" "$KAFKA_PORT"; then
    if pid=$(pid_of kafka kafka.Kafka); then
      say "kafka: reusing the broker on $HOST:$KAFKA_PORT (started by infra.sh, pid $pid)"
    else
      say "kafka: reusing whatever answers on $HOST:$KAFKA_PORT (not started by infra.sh)"
    fi
    record kafka reused "${pid:+pid $pid}"
    ensure_java; kafka_fetch; kafka_write_config   # the topic tool needs the jars
  elif pid=$(pid_of kafka kafka.Kafka); then
    say "kafka: broker pid $pid is still starting; waiting for it"
    record kafka reused "pid $pid"
    ensure_java; kafka_fetch; kafka_write_config
  else
    ensure_java
    kafka_fetch
    mkdir -p "$KAFKA_DATA"
    kafka_write_config
    kafka_format
    say "kafka: starting Apache Kafka $KAFKA_VERSION (KRaft) on $HOST:$KAFKA_PORT, controller $HOST:$KAFKA_CONTROLLER_PORT"
    # shellcheck disable=SC2086  # KAFKA_HEAP_OPTS is a list of JVM flags
    setsid "$JAVA" $KAFKA_HEAP_OPTS -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
      -XX:+ExplicitGCInvokesConcurrent -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
      -Dlog4j2.configurationFile="$KAFKA_LOG4J" -Dorderflow.kafka.log.level=INFO \
      -Djava.rmi.server.hostname="$HOST" \
      -cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_PROPS" </dev/null >>"$KAFKA_LOG" 2>&1 9>&- &
    pid=$!
    printf '%s\n' "$pid" >"$RUN/kafka.pid"
    record kafka started "pid $pid"
  fi
  # not waiting here: the JVM boots while the other servers start
}

# kafka_topics: the readiness check (a metadata call through the admin client) and
# idempotent topic creation: list once, create only the missing ones.
kafka_topics() {
  local existing="" deadline watch=""
  pid_of kafka kafka.Kafka >/dev/null && watch=kafka    # fail early if our broker died
  wait_until "kafka: port $HOST:$KAFKA_PORT" 120 "$KAFKA_LOG" "$watch" kafka.Kafka port_open "$HOST" "$KAFKA_PORT"
  deadline=$((SECONDS + 120))
  say "kafka: waiting for metadata (topic list)"
  until existing=$(kafka_list_topics 2>>"$KAFKA_DIR/tools.log"); do
    if ((SECONDS >= deadline)); then
      show_log "$KAFKA_DIR/tools.log" 20
      if [[ -n $watch ]]; then
        show_log "$KAFKA_LOG"
        die "kafka: the broker does not answer metadata requests on $HOST:$KAFKA_PORT"
      fi
      die "kafka: whatever listens on $HOST:$KAFKA_PORT (not started by infra.sh, so $(rel "$KAFKA_LOG") is not its log) does not answer Kafka metadata requests"
    fi
    sleep 2
  done
  local spec name parts created=() present=()
  for spec in "${KAFKA_TOPICS[@]}"; do
    name=${spec%%:*}; parts=${spec##*:}
    if grep -qxF -- "$name" <<<"$existing"; then present+=("$name"); continue; fi
    say "kafka: creating topic $name ($parts partitions, replication factor 1)"
    if ! kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$HOST:$KAFKA_PORT" \
          --command-config "$KAFKA_ADMIN_PROPS" --create --if-not-exists --topic "$name" \
          --partitions "$parts" --replication-factor 1 >>"$KAFKA_DIR/tools.log" 2>&1; then
      show_log "$KAFKA_DIR/tools.log" 20; die "kafka: could not create topic $name"
    fi
    created+=("$name")
  done
  say "kafka: topics ok (${#present[@]} existing, ${#created[@]} created)"
  DETAIL[kafka]="Kafka $KAFKA_VERSION KRaft${DETAIL[kafka]:+, ${DETAIL[kafka]}}, ${#KAFKA_TOPICS[@]} topics"
}

# ---------------------------------------------------------------- PostgreSQL --
PG_BIN=""
find_pg() {
  local d
  PG_BIN=""
  for d in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V); do
    [[ -x $d/postgres && -x $d/initdb && -x $d/pg_ctl && -x $d/psql ]] && PG_BIN=$d
  done
  [[ -n $PG_BIN ]]
}

ensure_pg() {
  find_pg && return 0
  apt_install postgresql postgresql-contrib
  find_pg || die "postgres: no /usr/lib/postgresql/*/bin/postgres after installing postgresql"
}

as_postgres() { (cd / && runuser -u postgres -- "$@"); }

# the socket directory of our own instance (a short path: sockets have a ~107-byte limit)
# pg_place_data keeps PostgreSQL's data under .data/postgres when the postgres
# OS user can reach it. A checkout under a private directory (/root is 0700)
# cannot be reached: then the data and log live in /var/lib/orderflow/<hash of
# the checkout path>, and .data/postgres is a symlink to them, so everything
# is still found from .data.
pg_place_data() {
  mkdir -p "$DATA"
  if [[ -L $DATA/postgres ]]; then
    PG_DATA=$(readlink -f "$DATA/postgres"); PG_LOG="$(dirname "$PG_DATA")/postgres.log"; return
  fi
  [[ -d $PG_DATA ]] && return
  as_postgres test -x "$DATA" 2>/dev/null && return
  local home
  home="/var/lib/orderflow/$(printf '%s' "$ROOT" | sha256sum | cut -c1-12)"
  mkdir -p "$home"
  chmod 755 /var/lib/orderflow "$home"
  ln -sfn "$home/postgres" "$DATA/postgres"
  PG_DATA="$home/postgres"; PG_LOG="$home/postgres.log"
  say "postgres: $(rel "$DATA") is not reachable by the postgres user; data in $home (linked from .data/postgres)"
}

pg_socket_dir() {
  local d="$RUN/pg"
  # A unix socket path is limited to ~100 bytes, and the postgres user must be
  # able to reach it: otherwise use /tmp.
  if ((${#d} > 90)) || ! as_postgres test -x "$DATA" 2>/dev/null; then
    d="/tmp/orderflow-pg-$(printf '%s' "$ROOT" | sha256sum | cut -c1-12)"
  fi
  printf '%s' "$d"
}

pg_psql_super() {   # pg_psql_super SOCKETDIR ARGS...: psql as the postgres superuser
  local dir=$1; shift
  as_postgres env PGCONNECT_TIMEOUT=5 "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$PG_PORT" -d postgres "$@"
}

pg_app_query() {
  PGPASSWORD=$PG_APP_PASSWORD PGCONNECT_TIMEOUT=5 "$PG_BIN/psql" -X -qtA \
    -h "$HOST" -p "$PG_PORT" -U "$PG_APP_USER" -d "$1" -c "$2"
}

pg_up() {
  ensure_pg
  local pid sock
  sock=$(pg_socket_dir)
  if port_open "$HOST" "$PG_PORT"; then
    if pid=$(pid_of postgres postgres); then
      say "postgres: reusing the server on $HOST:$PG_PORT (started by infra.sh, pid $pid)"
    else
      say "postgres: reusing whatever answers on $HOST:$PG_PORT (not started by infra.sh)"
    fi
    record postgres reused "${pid:+pid $pid}"
  else
    id postgres >/dev/null 2>&1 || die "postgres: OS user 'postgres' missing (it comes with the postgresql package)"
    need_root "PostgreSQL's data directory (it is run as the postgres user)"
    pg_place_data
    mkdir -p "$PG_DATA" "$sock"
    chown postgres:postgres "$PG_DATA" "$sock"
    chmod 700 "$PG_DATA"
    as_postgres test -w "$PG_DATA" ||
      die "postgres: the 'postgres' OS user cannot reach $PG_DATA (a parent directory is not world-searchable, e.g. chmod o+x on it)"
    touch "$PG_LOG" && chown postgres:postgres "$PG_LOG"
    local major
    major=$(basename "$(dirname "$PG_BIN")")
    if [[ ! -f $PG_DATA/PG_VERSION ]]; then
      say "postgres: initdb (PostgreSQL $major) in $(rel "$PG_DATA")"
      as_postgres "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --encoding=UTF8 --locale=C.UTF-8 \
        --auth-local=peer --auth-host=scram-sha-256 >>"$PG_LOG" 2>&1 ||
        { show_log "$PG_LOG"; die "postgres: initdb failed"; }
    elif [[ $(<"$PG_DATA/PG_VERSION") != "$major" ]]; then
      die "postgres: $(rel "$PG_DATA") was made by PostgreSQL $(<"$PG_DATA/PG_VERSION") but the binaries are $major; remove that directory to start afresh"
    fi
    local opts="-c listen_addresses=$HOST -c port=$PG_PORT -c unix_socket_directories='$sock'"
    opts+=" -c fsync=on"
    # synchronous_commit=on: a commit that the services acknowledge (an appended
    # event, an outbox row) must survive a crash; never trade that for speed here.
    opts+=" -c synchronous_commit=on"
    opts+=" -c max_connections=300 -c shared_buffers=256MB"
    if [[ -f $("$PG_BIN/pg_config" --pkglibdir 2>/dev/null || echo /nonexistent)/pg_stat_statements.so ]]; then
      opts+=" -c shared_preload_libraries=pg_stat_statements"
    fi
    say "postgres: starting PostgreSQL $major on $HOST:$PG_PORT (data $(rel "$PG_DATA"))"
    if ! as_postgres "$PG_BIN/pg_ctl" start -D "$PG_DATA" -l "$PG_LOG" -w -t 120 -s -o "$opts" 9>&-; then
      show_log "$PG_LOG"; die "postgres: pg_ctl start failed"
    fi
    pid=$(head -n 1 "$PG_DATA/postmaster.pid")
    printf '%s\n' "$pid" >"$RUN/postgres.pid"
    record postgres started "pid $pid"
  fi
  wait_until "postgres: pg_isready on $HOST:$PG_PORT" 60 "$PG_LOG" "" "" \
    "$PG_BIN/pg_isready" -q -h "$HOST" -p "$PG_PORT" -t 2

  # roles and databases, idempotently, as a superuser through a unix socket
  local dir done_init=""
  for dir in "$sock" /var/run/postgresql /tmp; do
    [[ -S $dir/.s.PGSQL.$PG_PORT ]] || continue
    if pg_psql_super "$dir" -c 'select 1' >/dev/null 2>&1; then
      if ! pg_psql_super "$dir" <"$PG_INIT_SQL" >>"$DATA/postgres-init.log" 2>&1; then
        show_log "$DATA/postgres-init.log" 20; die "postgres: infra/postgres/init.sql failed"
      fi
      done_init=$dir; break
    fi
  done
  if [[ -z $done_init ]]; then
    warn "postgres: no superuser access through a unix socket; assuming roles/databases already exist"
  fi
  local got
  got=$(pg_app_query "$PG_CHECK_DB" 'select 1' 2>&1) ||
    die "postgres: cannot log in as $PG_APP_USER to $PG_CHECK_DB on $HOST:$PG_PORT: $got"
  [[ $got == 1 ]] || die "postgres: unexpected answer to 'select 1': $got"
  say "postgres: ok (user $PG_APP_USER, databases ready)"
  DETAIL[postgres]="PostgreSQL $("$PG_BIN/psql" -V | awk '{print $3}')${DETAIL[postgres]:+, ${DETAIL[postgres]}}"
}

# --------------------------------------------------------------------- Redis --
# shellcheck disable=SC2016  # $0/$1 are expanded by the inner bash
redis_ping() {   # PING through bash's /dev/tcp: no dependency on redis-cli
  timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1"; printf "PING\r\n" >&3; IFS= read -r l <&3; [[ $l == "+PONG"* ]]' \
    "$HOST" "$REDIS_PORT" 2>/dev/null
}

redis_up() {
  local pid
  if port_open "$HOST" "$REDIS_PORT"; then
    if pid=$(pid_of redis redis-server); then
      say "redis: reusing the server on $HOST:$REDIS_PORT (started by infra.sh, pid $pid)"
    else
      say "redis: reusing whatever answers on $HOST:$REDIS_PORT (not started by infra.sh)"
    fi
    record redis reused "${pid:+pid $pid}"
  else
    command -v redis-server >/dev/null || apt_install redis-server
    mkdir -p "$REDIS_DIR"
    say "redis: starting redis-server on $HOST:$REDIS_PORT"
    # no persistence: Redis only holds read models derived from the event stores;
    # they are rebuilt by replaying events, so nothing is lost with the process.
    # shellcheck disable=SC2094  # redis-server only appends to its log
    if ! redis-server --port "$REDIS_PORT" --bind "$HOST" --daemonize yes \
          --pidfile "$RUN/redis.pid" --dir "$REDIS_DIR" --logfile "$REDIS_LOG" \
          --save "" --appendonly no >>"$REDIS_LOG" 2>&1 9>&-; then
      show_log "$REDIS_LOG"; die "redis: redis-server failed to start"
    fi
    for _ in $(seq 50); do [[ -s $RUN/redis.pid ]] && break; sleep 0.1; done
    pid=$(cat "$RUN/redis.pid" 2>/dev/null || true)
    record redis started "pid ${pid:-?}"
  fi
  wait_until "redis: PING on $HOST:$REDIS_PORT" 30 "$REDIS_LOG" "" "" redis_ping
  local v
  v=$(redis-server --version 2>/dev/null | grep -o 'v=[0-9.]*' | cut -c3- || true)
  say "redis: ok (PONG)"
  DETAIL[redis]="Redis ${v:-?}${DETAIL[redis]:+, ${DETAIL[redis]}}"
}

# ---------------------------------------------------------------------- NATS --
find_go() {
  local g
  for g in "$(command -v go || true)" /usr/local/go/bin/go /usr/lib/go/bin/go; do
    [[ -n $g && -x $g ]] && { printf '%s' "$g"; return 0; }
  done
  return 1
}

nats_installed_version() { "$NATS_BIN" --version 2>/dev/null | awk '{print $NF}'; }

nats_install() {
  [[ -x $NATS_BIN && "$(nats_installed_version)" == "$NATS_VERSION" ]] && return 0
  local go build_log="$NATS_DIR/build.log"
  go=$(find_go) || die "nats: the Go toolchain is needed to build nats-server (go install), and none was found"
  say "nats: building nats-server $NATS_VERSION with go install (once; a minute or two)"
  mkdir -p "$DATA/bin"
  # outside any module/workspace, with the local toolchain first (no toolchain download)
  if ! (cd "$DATA" && GOWORK=off GOFLAGS=-buildvcs=false CGO_ENABLED=0 GOBIN="$DATA/bin" GOTOOLCHAIN=local \
          "$go" install "github.com/nats-io/nats-server/v2@$NATS_VERSION") >"$build_log" 2>&1; then
    say "nats: go install with the local Go toolchain failed; retrying with GOTOOLCHAIN=auto (may fetch a newer Go)"
    (cd "$DATA" && GOWORK=off GOFLAGS=-buildvcs=false CGO_ENABLED=0 GOBIN="$DATA/bin" GOTOOLCHAIN=auto \
        "$go" install "github.com/nats-io/nats-server/v2@$NATS_VERSION") >>"$build_log" 2>&1 ||
      { show_log "$build_log" 30; die "nats: go install github.com/nats-io/nats-server/v2@$NATS_VERSION failed"; }
  fi
  [[ "$(nats_installed_version)" == "$NATS_VERSION" ]] ||
    die "nats: built $NATS_BIN but it reports version '$(nats_installed_version)'"
}

nats_healthy() {
  curl -fsS --max-time 3 "http://$HOST:$NATS_HTTP_PORT/healthz?js-enabled-only=true" 2>/dev/null | grep -q '"ok"'
}

nats_up() {
  local pid
  command -v curl >/dev/null || apt_install curl ca-certificates
  if port_open "$HOST" "$NATS_PORT"; then
    if pid=$(pid_of nats nats-server); then
      say "nats: reusing the server on $HOST:$NATS_PORT (started by infra.sh, pid $pid)"
    else
      say "nats: reusing whatever answers on $HOST:$NATS_PORT (not started by infra.sh)"
    fi
    record nats reused "${pid:+pid $pid}"
  elif pid=$(pid_of nats nats-server); then
    say "nats: pid $pid is still starting; waiting for it"
    record nats reused "pid $pid"
  else
    nats_install
    mkdir -p "$NATS_DIR"
    say "nats: starting nats-server $NATS_VERSION with JetStream on $HOST:$NATS_PORT (monitor :$NATS_HTTP_PORT)"
    setsid "$NATS_BIN" -c "$NATS_CONF" --store_dir "$NATS_DIR" </dev/null >>"$NATS_LOG" 2>&1 9>&- &
    pid=$!
    printf '%s\n' "$pid" >"$RUN/nats.pid"
    record nats started "pid $pid"
  fi
  local watch=nats
  [[ ${STATE[nats]} == reused ]] && watch=""
  wait_until "nats: http://$HOST:$NATS_HTTP_PORT/healthz?js-enabled-only=true" 60 "$NATS_LOG" "$watch" nats-server nats_healthy
  say "nats: ok (JetStream enabled)"
  local v
  v=$(curl -fsS --max-time 3 "http://$HOST:$NATS_HTTP_PORT/varz" 2>/dev/null | grep -o '"version": *"[^"]*"' | grep -o '[0-9][^"]*' || true)
  DETAIL[nats]="nats-server ${v:-?} JetStream${DETAIL[nats]:+, ${DETAIL[nats]}}"
}

# jaeger_stamp names the build: the go.sum of infra/jaeger pins every module.
jaeger_stamp() { sha256sum "$JAEGER_MODULE/go.sum" | cut -c1-16; }

jaeger_install() {
  local stamp="$DATA/bin/.jaeger-stamp"
  [[ -x $JAEGER_BIN && -r $stamp && "$(<"$stamp")" == "$(jaeger_stamp)" ]] && return 0
  local go build_log="$JAEGER_DIR/build.log"
  go=$(find_go) || die "jaeger: the Go toolchain is needed to build jaeger (go build), and none was found"
  mkdir -p "$DATA/bin" "$JAEGER_DIR"
  say "jaeger: building Jaeger v2 from the Go module proxy (once; several minutes on 2 cores)"
  (cd "$JAEGER_MODULE" && GOWORK=off GOFLAGS=-buildvcs=false CGO_ENABLED=0 GOTOOLCHAIN=local \
      "$go" build -o "$JAEGER_BIN.tmp" github.com/jaegertracing/jaeger/cmd/jaeger) >"$build_log" 2>&1 ||
    { show_log "$build_log" 30; die "jaeger: go build github.com/jaegertracing/jaeger/cmd/jaeger failed"; }
  mv "$JAEGER_BIN.tmp" "$JAEGER_BIN"
  jaeger_stamp >"$stamp"
}

jaeger_healthy() { curl -fsS --max-time 3 "http://$HOST:$JAEGER_HEALTH_PORT/status" 2>/dev/null | grep -q '"healthy":true'; }

jaeger_up() {
  command -v curl >/dev/null || apt_install curl ca-certificates
  daemon_up jaeger "$JAEGER_OTLP_PORT" "$JAEGER_BIN" "$JAEGER_LOG" jaeger_install \
    "starting Jaeger v2 (OTLP $HOST:$JAEGER_OTLP_PORT, query http://$HOST:$JAEGER_UI_PORT, spans in memory)" \
    "$JAEGER_BIN" --config "$JAEGER_CONF"
  local watch=jaeger
  [[ ${STATE[jaeger]} == reused ]] && watch=""
  wait_until "jaeger: http://$HOST:$JAEGER_HEALTH_PORT/status" 60 "$JAEGER_LOG" "$watch" "$JAEGER_BIN" jaeger_healthy
  say "jaeger: ok"
  DETAIL[jaeger]="Jaeger v2, OTLP/HTTP${DETAIL[jaeger]:+, ${DETAIL[jaeger]}}, query http://$HOST:$JAEGER_UI_PORT"
}

# daemon_up NAME PORT BIN LOG INSTALL_FN MESSAGE CMD...: reuses what answers on
# PORT (or a NAME started by infra.sh that is still starting), else installs
# NAME with INSTALL_FN and starts CMD as a daemon in a session of its own,
# pid in $RUN/NAME.pid. Every inherited descriptor above 2 is closed first:
# run under `flock FILE cmd` (as the tests are), the daemon would otherwise
# keep the caller's lock on FILE for as long as it lives.
daemon_up() {
  local name=$1 port=$2 bin=$3 log=$4 install=$5 message=$6 pid
  shift 6
  if port_open "$HOST" "$port"; then
    if pid=$(pid_of "$name" "$bin"); then
      say "$name: reusing the server on $HOST:$port (started by infra.sh, pid $pid)"
    else
      say "$name: reusing whatever answers on $HOST:$port (not started by infra.sh)"
    fi
    record "$name" reused "${pid:+pid $pid}"
  elif pid=$(pid_of "$name" "$bin"); then
    say "$name: pid $pid is still starting; waiting for it"
    record "$name" reused "pid $pid"
  else
    "$install"
    mkdir -p "$(dirname -- "$log")"
    say "$name: $message"
    (
      for fd in /proc/self/fd/*; do fd=${fd##*/}; ((fd > 2)) && eval "exec $fd>&-"; done 2>/dev/null
      exec setsid "$@" </dev/null >>"$log" 2>&1
    ) &
    pid=$!
    printf '%s\n' "$pid" >"$RUN/$name.pid"
    record "$name" started "pid $pid"
  fi
}

# ----------------------------------------------------------------- Toxiproxy --
# toxiproxy_installed_version: the module version go install recorded in the binary
# (the server's own -version prints "git" when built from the module proxy)
toxiproxy_installed_version() {
  local go
  go=$(find_go) || return 1
  "$go" version -m "$TOXIPROXY_BIN" 2>/dev/null | awk '$1 == "mod" { print $3; exit }'
}

toxiproxy_install() {
  [[ -x $TOXIPROXY_BIN && "$(toxiproxy_installed_version)" == "$TOXIPROXY_VERSION" ]] && return 0
  local go build_log="$TOXIPROXY_DIR/build.log" gobin="$TOXIPROXY_DIR/gobin"
  go=$(find_go) || die "toxiproxy: the Go toolchain is needed to build toxiproxy-server (go install), and none was found"
  say "toxiproxy: building toxiproxy-server $TOXIPROXY_VERSION with go install (once; under a minute)"
  mkdir -p "$DATA/bin" "$TOXIPROXY_DIR"
  rm -rf -- "$gobin"
  # go install names the binary after its package directory (cmd/server): built
  # into a directory of its own, then renamed
  (cd "$DATA" && GOWORK=off GOFLAGS=-buildvcs=false CGO_ENABLED=0 GOBIN="$gobin" GOTOOLCHAIN=local \
      "$go" install "github.com/Shopify/toxiproxy/v2/cmd/server@$TOXIPROXY_VERSION") >"$build_log" 2>&1 ||
    { show_log "$build_log" 30; die "toxiproxy: go install github.com/Shopify/toxiproxy/v2/cmd/server@$TOXIPROXY_VERSION failed"; }
  mv -f -- "$gobin/server" "$TOXIPROXY_BIN"
  rm -rf -- "$gobin"
  [[ "$(toxiproxy_installed_version)" == "$TOXIPROXY_VERSION" ]] ||
    die "toxiproxy: built $TOXIPROXY_BIN but it records version '$(toxiproxy_installed_version)'"
}

toxiproxy_healthy() { curl -fsS --max-time 3 "http://$HOST:$TOXIPROXY_PORT/version" >/dev/null 2>&1; }

toxiproxy_up() {
  command -v curl >/dev/null || apt_install curl ca-certificates
  daemon_up toxiproxy "$TOXIPROXY_PORT" "$TOXIPROXY_BIN" "$TOXIPROXY_LOG" toxiproxy_install \
    "starting toxiproxy-server $TOXIPROXY_VERSION (API $HOST:$TOXIPROXY_PORT; no proxies until a test makes them)" \
    "$TOXIPROXY_BIN" -host "$HOST" -port "$TOXIPROXY_PORT"
  local watch=toxiproxy
  [[ ${STATE[toxiproxy]} == reused ]] && watch=""
  wait_until "toxiproxy: http://$HOST:$TOXIPROXY_PORT/version" 30 "$TOXIPROXY_LOG" "$watch" "$TOXIPROXY_BIN" toxiproxy_healthy
  say "toxiproxy: ok"
  DETAIL[toxiproxy]="toxiproxy $TOXIPROXY_VERSION${DETAIL[toxiproxy]:+, ${DETAIL[toxiproxy]}}, API http://$HOST:$TOXIPROXY_PORT"
}

# ------------------------------------------------------------------ commands --
print_table() {
  printf '\n%-9s %-8s %-22s %s\n' SERVICE STATE ADDRESS DETAILS
  printf '%-9s %-8s %-22s %s\n' kafka "${STATE[kafka]}" "$HOST:$KAFKA_PORT" "${DETAIL[kafka]}"
  printf '%-9s %-8s %-22s %s\n' postgres "${STATE[postgres]}" "$HOST:$PG_PORT" "${DETAIL[postgres]}"
  printf '%-9s %-8s %-22s %s\n' redis "${STATE[redis]}" "$HOST:$REDIS_PORT" "${DETAIL[redis]}"
  printf '%-9s %-8s %-22s %s\n' nats "${STATE[nats]}" "$HOST:$NATS_PORT" "${DETAIL[nats]}, monitor http://$HOST:$NATS_HTTP_PORT"
  printf '%-9s %-8s %-22s %s\n' jaeger "${STATE[jaeger]}" "$HOST:$JAEGER_OTLP_PORT" "${DETAIL[jaeger]}"
  printf '%-9s %-8s %-22s %s\n' toxiproxy "${STATE[toxiproxy]}" "$HOST:$TOXIPROXY_PORT" "${DETAIL[toxiproxy]}"
  printf '\nlogs: %s  %s  %s  %s  %s\n' "$(rel "$KAFKA_LOG")" "$(rel "$PG_LOG")" "$(rel "$REDIS_LOG")" "$(rel "$NATS_LOG")" "$(rel "$JAEGER_LOG")"
  # shellcheck disable=SC2016  # printed literally
  printf 'env:  eval "$(bash %s env)"\n' "$(rel "$SCRIPT_DIR/infra.sh")"
}

# serialises concurrent up/down runs. fd 9 must not leak into the servers (every
# launch below closes it with 9>&-), or they would hold the lock forever.
lock() {
  mkdir -p "$RUN"
  exec 9>"$RUN/infra.lock"
  if ! flock -n 9; then
    say "another infra.sh is running; waiting for it"
    flock -w 900 9 || die "timed out waiting for the other infra.sh (lock $RUN/infra.lock)"
  fi
}

cmd_up() {
  mkdir -p "$DATA" "$RUN" "$KAFKA_DIR" "$REDIS_DIR" "$NATS_DIR" "$JAEGER_DIR" "$TOXIPROXY_DIR" "$DATA/bin"
  lock
  say "bringing up orderflow infrastructure (state in $(rel "$DATA")/)"
  # the slow first-time installs (Kafka jars, nats-server build) are done up front so
  # the servers can start together afterwards
  if ! port_open "$HOST" "$NATS_PORT" && ! pid_of nats nats-server >/dev/null; then nats_install; fi
  if ! port_open "$HOST" "$JAEGER_OTLP_PORT" && ! pid_of jaeger "$JAEGER_BIN" >/dev/null; then jaeger_install; fi
  kafka_up        # starts the JVM in the background; topics are made after the others
  pg_up
  redis_up
  nats_up
  jaeger_up
  toxiproxy_up
  kafka_topics
  print_table
  say "all up in $((SECONDS - T0))s"
}

cmd_down() {
  mkdir -p "$RUN"
  lock
  stop_pid toxiproxy "$TOXIPROXY_BIN" TERM 10
  stop_pid jaeger "$JAEGER_BIN" TERM 30
  stop_pid nats nats-server TERM 30
  stop_pid kafka kafka.Kafka TERM 90
  stop_pid redis redis-server TERM 30
  # PostgreSQL: SIGINT is its "fast" shutdown (what `pg_ctl stop -m fast` sends):
  # rolls back open transactions, checkpoints and exits cleanly. SIGTERM ("smart")
  # would wait for every client (connection pools) to disconnect.
  stop_pid postgres postgres INT 90
}

status_line() {   # status_line NAME ADDR UP(0/1) PIDNAME PATTERN
  local pid owner=""
  if pid=$(pid_of "$4" "$5"); then owner="started by infra.sh, pid $pid"; fi
  if [[ $3 == 1 ]]; then
    printf '%-9s %-5s %-22s %s\n' "$1" up "$2" "${owner:-not started by infra.sh}"
  else
    printf '%-9s %-5s %-22s %s\n' "$1" down "$2" "${owner:+process alive but not answering: $owner}"
  fi
}

cmd_status() {
  local k=0 p=0 r=0 n=0 j=0 x=0 rc=0
  port_open "$HOST" "$KAFKA_PORT" && k=1
  if find_pg; then "$PG_BIN/pg_isready" -q -h "$HOST" -p "$PG_PORT" -t 2 && p=1; else port_open "$HOST" "$PG_PORT" && p=1; fi
  redis_ping && r=1
  nats_healthy && n=1
  jaeger_healthy && j=1
  toxiproxy_healthy && x=1
  printf '%-9s %-5s %-22s %s\n' SERVICE STATE ADDRESS OWNER
  status_line kafka "$HOST:$KAFKA_PORT" $k kafka kafka.Kafka
  status_line postgres "$HOST:$PG_PORT" $p postgres postgres
  status_line redis "$HOST:$REDIS_PORT" $r redis redis-server
  status_line nats "$HOST:$NATS_PORT" $n nats nats-server
  status_line jaeger "$HOST:$JAEGER_OTLP_PORT" $j jaeger "$JAEGER_BIN"
  status_line toxiproxy "$HOST:$TOXIPROXY_PORT" $x toxiproxy "$TOXIPROXY_BIN"
  ((k && p && r && n && j && x)) || rc=3
  return $rc
}

cmd_env() {
  cat <<EOF
export KAFKA_BROKERS=$HOST:$KAFKA_PORT
export REDIS_ADDR=$HOST:$REDIS_PORT
export NATS_URL=nats://$HOST:$NATS_PORT
export PG_ADMIN_DSN=postgres://$PG_APP_USER:$PG_APP_PASSWORD@$HOST:$PG_PORT/postgres?sslmode=disable
export JAEGER_QUERY_URL=http://$HOST:$JAEGER_UI_PORT
export TOXIPROXY_URL=http://$HOST:$TOXIPROXY_PORT
EOF
}

# cmd_kafka_requests prints the broker's request counts since it started, one
# "<request type> <count>" line each (JMX RequestMetrics, summed over API
# versions): the benchmarks read it before and after a step.
#
# The broker's JMX connector is started on first use, through the attach API
# (jcmd ManagementAgent.start), on $HOST:$KAFKA_JMX_PORT only. Started with
# -Dcom.sun.management.jmxremote.* flags instead, the JVM would also open its
# local connector on an ephemeral port of every interface.
cmd_kafka_requests() {
  ensure_java
  if ! port_open "$HOST" "$KAFKA_JMX_PORT"; then
    local pid jcmd
    pid=$(cat "$RUN/kafka.pid" 2>/dev/null) && kill -0 "$pid" 2>/dev/null ||
      die "kafka: no JMX on $HOST:$KAFKA_JMX_PORT, and no broker started by this script to open it in"
    jcmd="$(dirname -- "$(readlink -f -- "$JAVA")")/jcmd"
    if [[ ! -x $jcmd ]]; then
      apt_install openjdk-17-jdk-headless
      jcmd="$(dirname -- "$(readlink -f -- "$JAVA")")/jcmd"
    fi
    "$jcmd" "$pid" ManagementAgent.start jmxremote.port="$KAFKA_JMX_PORT" jmxremote.rmi.port="$KAFKA_JMX_PORT" \
      jmxremote.host="$HOST" jmxremote.authenticate=false jmxremote.ssl=false >/dev/null ||
      die "kafka: could not start the JMX connector in pid $pid"
    port_open "$HOST" "$KAFKA_JMX_PORT" || die "kafka: JMX did not open on $HOST:$KAFKA_JMX_PORT"
  fi
  kafka_tool org.apache.kafka.tools.JmxTool --one-time true --report-format tsv \
    --jmx-url "service:jmx:rmi:///jndi/rmi://$HOST:$KAFKA_JMX_PORT/jmxrmi" \
    --object-name 'kafka.network:type=RequestMetrics,name=RequestsPerSec,request=*,version=*' --attributes Count 2>/dev/null |
    awk -F'\t' 'match($1, /request=[A-Za-z]+/) { n[substr($1, RSTART+8, RLENGTH-8)] += $2 } END { for (k in n) print k, n[k] }'
}

usage() {
  sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

# cmd_stop_one stops one server this script started; tests use it to take
# Kafka away and `up` to bring it back.
cmd_stop_one() {
  mkdir -p "$RUN"
  lock
  case "${1:-}" in
    kafka)    stop_pid kafka kafka.Kafka TERM 90 ;;
    nats)     stop_pid nats nats-server TERM 30 ;;
    redis)    stop_pid redis redis-server TERM 30 ;;
    postgres) stop_pid postgres postgres INT 90 ;;
    jaeger)   stop_pid jaeger "$JAEGER_BIN" TERM 30 ;;
    toxiproxy) stop_pid toxiproxy "$TOXIPROXY_BIN" TERM 10 ;;
    *) die "stop: name one of kafka, nats, redis, postgres, jaeger, toxiproxy" ;;
  esac
}

case "${1:-}" in
  up)     cmd_up ;;
  down)   cmd_down ;;
  stop)   cmd_stop_one "${2:-}" ;;
  status) cmd_status ;;
  env)    cmd_env ;;
  kafka-requests) cmd_kafka_requests ;;
  -h|--help|help) usage ;;
  *)      usage >&2; exit 2 ;;
esac
