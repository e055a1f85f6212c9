#!/usr/bin/env bash
# Cluster control for the Makefile: start/stop a coordinator and brokers in the background,
# crash (SIGKILL) and restart brokers. Pids and logs in $RUN_DIR, data in $DATA_DIR.
#
#   scripts/cluster.sh up [N]          coordinator (if not running) + brokers 1..N + the web console, waits until ready
#   scripts/cluster.sh brokers N       brokers 1..N against the running coordinator
#   scripts/cluster.sh start-broker ID one broker in the background
#   scripts/cluster.sh crash ID        SIGKILL broker ID
#   scripts/cluster.sh pause ID        SIGSTOP broker ID (it stops answering; its session expires)
#   scripts/cluster.sh resume ID       SIGCONT broker ID
#   scripts/cluster.sh restart ID      stop broker ID if it runs (as in stop), start it again (same id, port
#                                      and data), wait until ready
#   scripts/cluster.sh stop            brokers one at a time (SIGCONT, SIGTERM, wait up to STOP_TIMEOUT_S,
#                                      then SIGKILL), the coordinator last: a broker's controlled shutdown
#                                      hands its leaderships to the others, which needs them and the
#                                      coordinator alive (the console first)
#   scripts/cluster.sh status
#   scripts/cluster.sh crash-coordinator|pause-coordinator|resume-coordinator|restart-coordinator ID
#                                      with COORDINATORS > 1: coordinator ID of the Redis-backed ensemble
#
# COORDINATORS=N (N > 1): a local redis-server (appendonly yes, appendfsync always, data in
# $DATA_DIR/redis, port REDIS_PORT) and coordinators 1..N on COORDINATOR_PORT..+N-1 with
# --store redis://; one is active, the others standby. Brokers and the console get all N URLs
# (kept in $RUN_DIR/coordinators for later starts).
set -euo pipefail
cd "$(dirname "$0")/.."

RUN_DIR=${RUN_DIR:-./run}
DATA_DIR=${DATA_DIR:-./data}
COORDINATOR_PORT=${COORDINATOR_PORT:-2181}
PORT_BASE=${PORT_BASE:-9091}
METRICS_PORT=${METRICS_PORT:-7181} # the coordinator's /metrics; 0 = any free port, -1 = off
# Broker N's /metrics on BROKER_METRICS_BASE + N (broker 1: 7192). METRICS_PORT=0 or -1 applies to
# the brokers too (any free port / off), so a test cluster never takes a developer's ports.
BROKER_METRICS_BASE=${BROKER_METRICS_BASE:-7191}
CONSOLE_PORT=${CONSOLE_PORT:-8080} # the web console; 0 = any free port, -1 = not started
COORDINATORS=${COORDINATORS:-1}
REDIS_PORT=${REDIS_PORT:-6379}
LEASE_MS=${LEASE_MS:-2000}
READY_TIMEOUT_S=${READY_TIMEOUT_S:-30}
# COORDINATOR_AUTH=user:password: the brokers present these credentials and lock the znodes they
# create (samsa broker --coordinator-auth); handed over in the environment so `ps` does not show it.
if [[ -n "${COORDINATOR_AUTH:-}" ]]; then export SAMSA_COORDINATOR_AUTH=$COORDINATOR_AUTH; fi
STOP_TIMEOUT_S=${STOP_TIMEOUT_S:-30} # per process: a controlled shutdown moves leaderships first
SAMSA="node bin/samsa.js"
export SAMSA_LOG_PRETTY=false

mkdir -p "$RUN_DIR" "$DATA_DIR"

pid_alive() { # pid; a zombie (exited, not yet reaped: nohup'd children are reparented to
  # PID 1, which in some containers never reaps) counts as dead.
  kill -0 "$1" 2>/dev/null || return 1
  [[ -r "/proc/$1/stat" ]] || return 0
  local stat
  stat=$(<"/proc/$1/stat") || return 1
  stat=${stat##*) }
  [[ ${stat%% *} != Z ]]
}

# Empties a log before its process starts: the `>` of a backgrounded command runs in the child,
# later, so a readiness check could otherwise read the previous run's "ready" line.
fresh_log() { : >"$1"; }

alive() { # pidfile
  [[ -f "$1" ]] && pid_alive "$(cat "$1")"
}

port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

wait_for() { # description, command...
  local what=$1; shift
  local deadline=$((SECONDS + READY_TIMEOUT_S))
  until "$@"; do
    if ((SECONDS >= deadline)); then
      echo "cluster: timed out after ${READY_TIMEOUT_S}s waiting for $what" >&2
      return 1
    fi
    sleep 0.2
  done
}

coordinator_urls() { # every coordinator of this cluster, comma-separated
  if [[ -f "$RUN_DIR/coordinators" ]]; then cat "$RUN_DIR/coordinators"; else echo "ws://127.0.0.1:$COORDINATOR_PORT"; fi
}

redis_up() {
  alive "$RUN_DIR/redis.pid" || died redis
  port_open "$REDIS_PORT"
}

start_redis() {
  local pidfile="$RUN_DIR/redis.pid"
  if alive "$pidfile"; then echo "redis already running (pid $(cat "$pidfile"))"; return; fi
  bash scripts/ensure-deps.sh redis-server
  mkdir -p "$DATA_DIR/redis"
  fresh_log "$RUN_DIR/redis.log"
  nohup redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$(cd "$DATA_DIR/redis" && pwd)" --appendonly yes --appendfsync always --save '' >>"$RUN_DIR/redis.log" 2>&1 &
  echo $! >"$pidfile"
  wait_for "redis-server on port $REDIS_PORT" redis_up
  echo "redis: 127.0.0.1:$REDIS_PORT (pid $(cat "$pidfile"), appendonly yes, appendfsync always, data $DATA_DIR/redis)"
}

ha_coordinator_up() { # id
  alive "$RUN_DIR/coordinator-$1.pid" || died "coordinator-$1"
  grep -q '"msg":"coordinator.listening"' "$RUN_DIR/coordinator-$1.log" 2>/dev/null
}

start_ha_coordinator() { # id
  local id=$1 pidfile="$RUN_DIR/coordinator-$1.pid" port=$((COORDINATOR_PORT + $1 - 1)) metrics=$METRICS_PORT
  if alive "$pidfile"; then echo "coordinator $id already running (pid $(cat "$pidfile"))"; return; fi
  if ((METRICS_PORT > 0)); then metrics=$((METRICS_PORT + id - 1)); fi
  fresh_log "$RUN_DIR/coordinator-$id.log"
  nohup $SAMSA coordinator --store "redis://127.0.0.1:$REDIS_PORT/0" --lease-ms "$LEASE_MS" --port "$port" --metrics-port "$metrics" >>"$RUN_DIR/coordinator-$id.log" 2>&1 &
  echo $! >"$pidfile"
  wait_for "coordinator $id (see $RUN_DIR/coordinator-$id.log)" ha_coordinator_up "$id"
  echo "coordinator $id: ws://127.0.0.1:$port (pid $(cat "$pidfile"), log $RUN_DIR/coordinator-$id.log, store redis://127.0.0.1:$REDIS_PORT/0)"
}

start_coordinators() {
  if ((COORDINATORS <= 1)); then rm -f "$RUN_DIR/coordinators"; start_coordinator; return; fi
  start_redis
  local urls=() id
  for ((id = 1; id <= COORDINATORS; id++)); do urls+=("ws://127.0.0.1:$((COORDINATOR_PORT + id - 1))"); done
  (IFS=,; echo "${urls[*]}") >"$RUN_DIR/coordinators"
  for ((id = 1; id <= COORDINATORS; id++)); do start_ha_coordinator "$id"; done
}

start_coordinator() {
  local pidfile="$RUN_DIR/coordinator.pid"
  if alive "$pidfile"; then echo "coordinator already running (pid $(cat "$pidfile"))"; return; fi
  fresh_log "$RUN_DIR/coordinator.log"
  nohup $SAMSA coordinator --port "$COORDINATOR_PORT" --metrics-port "$METRICS_PORT" --data-dir "$DATA_DIR/coordinator" >>"$RUN_DIR/coordinator.log" 2>&1 &
  echo $! >"$pidfile"
  wait_for "the coordinator on port $COORDINATOR_PORT" coordinator_up
  local metrics=off
  if ((METRICS_PORT > 0)); then metrics="http://127.0.0.1:$METRICS_PORT/metrics"; elif ((METRICS_PORT == 0)); then metrics="any free port (see $RUN_DIR/coordinator.log)"; fi
  echo "coordinator: ws://127.0.0.1:$COORDINATOR_PORT (pid $(cat "$pidfile"), log $RUN_DIR/coordinator.log, metrics $metrics)"
}

# Readiness checks give up at once (exit 1, with the log's tail) when the process has died,
# instead of waiting out the deadline or mistaking another process on the port for ours.
died() { # name
  echo "cluster: $1 exited; last lines of $RUN_DIR/$1.log:" >&2
  tail -5 "$RUN_DIR/$1.log" >&2 || true
  rm -f "$RUN_DIR/$1.pid"
  exit 1
}

coordinator_up() {
  alive "$RUN_DIR/coordinator.pid" || died coordinator
  port_open "$COORDINATOR_PORT"
}

broker_ready() { # id
  alive "$RUN_DIR/broker-$1.pid" || died "broker-$1"
  grep -q '"msg":"broker.ready"' "$RUN_DIR/broker-$1.log" 2>/dev/null
}

broker_metrics_port() { # id
  if ((METRICS_PORT <= 0)); then echo "$METRICS_PORT"; else echo $((BROKER_METRICS_BASE + $1)); fi
}

metrics_url() { # log file: the /metrics URL the process logged when ready, or "off"
  local url
  url=$(grep -o '"metrics":"http://[^"]*"' "$1" 2>/dev/null | tail -1 | cut -d'"' -f4) || true
  echo "${url:-off}"
}

start_broker() { # id
  local id=$1 pidfile="$RUN_DIR/broker-$1.pid" port=$((PORT_BASE + $1))
  if alive "$pidfile"; then echo "broker $id already running (pid $(cat "$pidfile"))"; return; fi
  fresh_log "$RUN_DIR/broker-$id.log"
  # Brokers run with the Node flags of shared/node-flags.ts (built: make builds first).
  local flags
  flags=$(node -p "require('./dist/shared/node-flags').BROKER_NODE_FLAGS.join(' ')")
  # shellcheck disable=SC2086 # the flags are words
  nohup node $flags bin/samsa.js broker --id "$id" --port "$port" --metrics-port "$(broker_metrics_port "$id")" --coordinator "$(coordinator_urls)" --data-dir "$DATA_DIR/broker-$id" >>"$RUN_DIR/broker-$id.log" 2>&1 &
  echo $! >"$pidfile"
}

await_broker() { # id
  local id=$1
  if ! wait_for "broker $id (see $RUN_DIR/broker-$id.log)" broker_ready "$id"; then
    tail -5 "$RUN_DIR/broker-$id.log" >&2 || true
    return 1
  fi
  echo "broker $id: 127.0.0.1:$((PORT_BASE + id)) (pid $(cat "$RUN_DIR/broker-$id.pid"), log $RUN_DIR/broker-$id.log, metrics $(metrics_url "$RUN_DIR/broker-$id.log"))"
}

start_brokers() { # n
  local first
  first=$(coordinator_urls); first=${first%%,*}; first=${first##*:}
  port_open "$first" || { echo "cluster: no coordinator on port $first (make coordinator or make cluster)" >&2; exit 1; }
  for ((id = 1; id <= $1; id++)); do start_broker "$id"; done
  for ((id = 1; id <= $1; id++)); do await_broker "$id"; done
}

console_ready() {
  alive "$RUN_DIR/console.pid" || died console
  grep -q '"msg":"console.ready"' "$RUN_DIR/console.log" 2>/dev/null
}

start_console() {
  ((CONSOLE_PORT >= 0)) || return 0
  local pidfile="$RUN_DIR/console.pid"
  if alive "$pidfile"; then echo "console already running (pid $(cat "$pidfile"))"; return; fi
  fresh_log "$RUN_DIR/console.log"
  nohup $SAMSA console --port "$CONSOLE_PORT" --coordinator "$(coordinator_urls)" --bootstrap "127.0.0.1:$((PORT_BASE + 1))" >>"$RUN_DIR/console.log" 2>&1 &
  echo $! >"$pidfile"
  wait_for "the console (see $RUN_DIR/console.log)" console_ready
  local url
  url=$(grep -o '"url":"http://[^"]*"' "$RUN_DIR/console.log" | tail -1 | cut -d'"' -f4)
  echo "console: $url (pid $(cat "$pidfile"), log $RUN_DIR/console.log)"
}

paused() { # pid: stopped by SIGSTOP (state T in /proc/<pid>/stat)
  [[ -r "/proc/$1/stat" ]] || return 1
  local stat
  stat=$(<"/proc/$1/stat") || return 1
  stat=${stat##*) }
  [[ ${stat%% *} == T ]]
}

# SIGTERM, wait up to STOP_TIMEOUT_S for the exit, then SIGKILL. A paused process is resumed
# first: SIGTERM stays pending while it is stopped.
stop_pid() { # pid name
  local pid=$1 name=$2 started=$SECONDS
  kill -CONT "$pid" 2>/dev/null || true
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + STOP_TIMEOUT_S))
  while pid_alive "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
  if pid_alive "$pid"; then
    kill -KILL "$pid" 2>/dev/null || true
    echo "$name: did not exit within ${STOP_TIMEOUT_S}s after SIGTERM; killed with SIGKILL" >&2
  else
    echo "$name: stopped ($((SECONDS - started))s)"
  fi
}

stop_broker() { # id; returns 1 when it was not running
  local pidfile="$RUN_DIR/broker-$1.pid"
  [[ -f "$pidfile" ]] || return 1
  if alive "$pidfile"; then stop_pid "$(cat "$pidfile")" "broker-$1"; rm -f "$pidfile"; return 0; fi
  rm -f "$pidfile"
  return 1
}

broker_ids() { # of the broker pid files, in numeric order
  local file
  for file in "$RUN_DIR"/broker-*.pid; do
    [[ -f "$file" ]] || continue
    file=${file##*/broker-}
    echo "${file%.pid}"
  done | sort -n
}

stop_all() {
  local stopped=0 pidfile id
  # The console (a client: nothing waits for it), brokers one at a time in id order, then the coordinator.
  pidfile="$RUN_DIR/console.pid"
  if [[ -f "$pidfile" ]]; then
    if alive "$pidfile"; then stop_pid "$(cat "$pidfile")" console; stopped=$((stopped + 1)); fi
    rm -f "$pidfile"
  fi
  for id in $(broker_ids); do
    if stop_broker "$id"; then stopped=$((stopped + 1)); fi
  done
  for pidfile in "$RUN_DIR"/coordinator.pid "$RUN_DIR"/coordinator-*.pid "$RUN_DIR"/redis.pid; do
    [[ -f "$pidfile" ]] || continue
    if alive "$pidfile"; then stop_pid "$(cat "$pidfile")" "$(basename "$pidfile" .pid)"; stopped=$((stopped + 1)); fi
    rm -f "$pidfile"
  done
  echo "stopped $stopped process(es)"
}

signal_broker() { # id signal verb
  local pidfile="$RUN_DIR/broker-$1.pid"
  if alive "$pidfile"; then kill "-$2" "$(cat "$pidfile")"; echo "broker $1 $3 with SIG$2"; else echo "broker $1 is not running" >&2; exit 1; fi
}

case "${1:-}" in
  up)
    start_coordinators
    start_brokers "${2:-3}"
    start_console
    echo "ready: bootstrap 127.0.0.1:$((PORT_BASE + 1)); make stop to end"
    ;;
  brokers) start_brokers "${2:?number of brokers}" ;;
  start-broker) start_broker "${2:?broker id}"; await_broker "$2" ;;
  crash)
    pidfile="$RUN_DIR/broker-${2:?broker id}.pid"
    if ! alive "$pidfile"; then echo "broker $2 is not running" >&2; exit 1; fi
    pid=$(cat "$pidfile")
    kill -KILL "$pid"
    # SIGKILL is delivered asynchronously: say "killed" once the process is gone (a large heap takes a moment to free).
    for _ in $(seq 1 100); do pid_alive "$pid" || break; sleep 0.05; done
    rm -f "$pidfile"
    echo "broker $2 killed with SIGKILL"
    ;;
  pause) signal_broker "${2:?broker id}" STOP paused ;;
  resume) signal_broker "${2:?broker id}" CONT resumed ;;
  restart)
    stop_broker "${2:?broker id}" || true
    start_broker "$2"; await_broker "$2"
    ;;
  crash-coordinator|pause-coordinator|resume-coordinator|restart-coordinator)
    id=${2:?coordinator id}
    pidfile="$RUN_DIR/coordinator-$id.pid"
    [[ -f "$RUN_DIR/coordinators" ]] || { echo "no coordinator ensemble here (make cluster COORDINATORS=3)" >&2; exit 1; }
    case "$1" in
      crash-coordinator)
        alive "$pidfile" || { echo "coordinator $id is not running" >&2; exit 1; }
        pid=$(cat "$pidfile"); kill -KILL "$pid"
        for _ in $(seq 1 100); do pid_alive "$pid" || break; sleep 0.05; done
        rm -f "$pidfile"; echo "coordinator $id killed with SIGKILL" ;;
      pause-coordinator) alive "$pidfile" || { echo "coordinator $id is not running" >&2; exit 1; }; kill -STOP "$(cat "$pidfile")"; echo "coordinator $id paused with SIGSTOP" ;;
      resume-coordinator) alive "$pidfile" || { echo "coordinator $id is not running" >&2; exit 1; }; kill -CONT "$(cat "$pidfile")"; echo "coordinator $id resumed with SIGCONT" ;;
      restart-coordinator)
        if alive "$pidfile"; then stop_pid "$(cat "$pidfile")" "coordinator-$id"; fi
        rm -f "$pidfile"; start_ha_coordinator "$id" ;;
    esac
    ;;
  stop) stop_all ;;
  status)
    for pidfile in "$RUN_DIR"/*.pid; do
      [[ -f "$pidfile" ]] || continue
      name=$(basename "$pidfile" .pid)
      if ! alive "$pidfile"; then echo "$name: dead"
      elif paused "$(cat "$pidfile")"; then echo "$name: paused (pid $(cat "$pidfile"))"
      else echo "$name: running (pid $(cat "$pidfile"))"; fi
    done
    ;;
  *) echo "usage: $0 up [N] | brokers N | start-broker ID | crash ID | pause ID | resume ID | restart ID | stop | status | crash-coordinator|pause-coordinator|resume-coordinator|restart-coordinator ID" >&2; exit 2 ;;
esac
