#!/usr/bin/env bash
# API benchmark (make bench-api): GET /api/v2/jobs/active under wrk, tokens rotating over all users,
# against our release binary on PostgreSQL and then on SQLite, with the reference peer's data shape
# (1,000 users, 1,000 datasets, 1,000,000 background_jobs). See bench/api/README.md.
#
# Knobs (environment):
#   BENCH_PG_URL       server to use for the PostgreSQL half (postgres://postgres@127.0.0.1:5432);
#                      the database jobwatch_bench on it is dropped and recreated (superuser needed)
#   BENCH_SKIP_PG=1 / BENCH_SKIP_SQLITE=1 / BENCH_SKIP_BUILD=1   skip a phase
#   BENCH_USERS (1000), BENCH_DATASETS (1000), BENCH_JOBS (1000000)   data size
#   CONC (64), DURATION (20s), THREADS (1), WARMUP (5s, 0 = none)      wrk load
#   BENCH_WORK_DIR (/tmp/jobwatch-bench)   tokens, SQLite file, server logs
#   BENCH_PG_PORT (18080), BENCH_SQLITE_PORT (18081)   where our server listens (127.0.0.1)
#   CARGO_TARGET_DIR (~/.cache/jobwatch-target)
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/jobwatch-target}
BIN=$CARGO_TARGET_DIR/release/jobwatch
WORK=${BENCH_WORK_DIR:-/tmp/jobwatch-bench}
PG_SERVER_URL=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}
PG_SERVER_URL=${PG_SERVER_URL%/}
PG_DB=jobwatch_bench
PG_DB_URL=$PG_SERVER_URL/$PG_DB
SQLITE_DB=$WORK/bench.db
USERS=${BENCH_USERS:-1000}; DATASETS=${BENCH_DATASETS:-1000}; JOBS=${BENCH_JOBS:-1000000}
CONC=${CONC:-64}; DURATION=${DURATION:-20s}; THREADS=${THREADS:-1}; WARMUP=${WARMUP:-5s}
PG_PORT=${BENCH_PG_PORT:-18080}; SQLITE_PORT=${BENCH_SQLITE_PORT:-18081}
API_PATH=/api/v2/jobs/active
HZ=$(getconf CLK_TCK)

mkdir -p "$WORK"
SUMMARY=()        # one line per backend for the final table
FAILED=0
SERVER_PID=""

log() { printf '%s\n' "$*"; }
section() { printf '\n==== %s ====\n' "$*"; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

stop_server() {
  [ -n "$SERVER_PID" ] || return 0
  if kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$SERVER_PID" 2>/dev/null; then
      log "server pid $SERVER_PID ignored SIGTERM for 10 s: SIGKILL"
      kill -KILL "$SERVER_PID" 2>/dev/null || true
    fi
  fi
  wait "$SERVER_PID" 2>/dev/null || true
  log "server stopped (pid $SERVER_PID)"
  SERVER_PID=""
}
trap 'stop_server' EXIT
trap 'exit 130' INT TERM

# ---- tools ----
. "$HERE/../lib.sh"
need curl curl
need wrk wrk
need python3 python3
[ "${BENCH_SKIP_PG:-0}" = 1 ] || need psql postgresql-client
[ "${BENCH_SKIP_SQLITE:-0}" = 1 ] || need sqlite3 sqlite3

# ---- 1. build ----
section "build"
if [ "${BENCH_SKIP_BUILD:-0}" = 1 ]; then
  log "BENCH_SKIP_BUILD=1: using $BIN as it is"
else
  t=$(now)
  (cd "$ROOT" && cargo build --release)
  log "cargo build --release: $(elapsed "$t") s"
fi
[ -x "$BIN" ] || { log "no binary at $BIN"; exit 1; }
log "binary: $BIN ($(stat -c %s "$BIN") bytes, built $(date -r "$BIN" '+%F %T'))"

# ---- helpers for the load phase ----
tree_ticks() {  # utime+stime (clock ticks) of a pid, its reaped children (cutime+cstime) and its
                # live direct children (as the peer's load.sh): for PostgreSQL the postmaster and
                # all backends of the cluster, whichever database they serve
  [ -n "${1:-}" ] && [ -r "/proc/$1/stat" ] || { echo 0; return; }
  local t p
  t=$(awk '{print $14+$15+$16+$17}' "/proc/$1/stat")
  for p in $(ps -o pid= --ppid "$1" 2>/dev/null); do
    [ -r "/proc/$p/stat" ] && t=$((t + $(awk '{print $14+$15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$t"
}
pids_ticks() {  # "pid ticks" for each pid on stdin
  local p
  while read -r p; do
    [ -n "$p" ] && [ -r "/proc/$p/stat" ] && echo "$p $(awk '{print $14+$15}' "/proc/$p/stat" 2>/dev/null || echo 0)"
  done
  return 0
}
pg() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }
pg_db_backends() {  # pids of the backends connected to the bench database, with their CPU ticks
  { pg -tA "$PG_SERVER_URL/postgres" -c "select pid from pg_stat_activity where datname = '$PG_DB'" 2>/dev/null || true; } | pids_ticks
}
pg_sessions() {
  pg -tA "$PG_SERVER_URL/postgres" -c "select sessions from pg_stat_database where datname = '$PG_DB'" 2>/dev/null || echo 0
}
pg_postmaster_pid() {  # the postmaster's pid, if the server runs on this machine and is readable
  local dir pid
  dir=$(pg -tA "$PG_SERVER_URL/postgres" -c "show data_directory" 2>/dev/null || true)
  pid=$(head -1 "$dir/postmaster.pid" 2>/dev/null || true)
  if [ -z "$pid" ]; then
    for f in /var/run/postgresql/*.pid; do [ -r "$f" ] && pid=$(head -1 "$f") && break; done
  fi
  [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] && echo "$pid" || true
}

start_server() {  # start_server NAME PORT DATABASE_URL
  local name=$1 port=$2 url=$3 code=""
  local base=http://127.0.0.1:$port
  if curl -s -o /dev/null --max-time 2 "$base/healthz"; then
    log "something already answers on 127.0.0.1:$port; stop it first"; return 1
  fi
  mkdir -p "$WORK/data-$name"
  # The API alone, as the peer (no workers changing the seeded jobs under the load).
  DATABASE_URL=$url JOBWATCH_BIND=127.0.0.1:$port JOBWATCH_DATA_DIR=$WORK/data-$name \
    JOBWATCH_NO_WORKERS=${JOBWATCH_NO_WORKERS:-true} "$BIN" serve > "$WORK/server-$name.log" 2>&1 &
  SERVER_PID=$!
  local t; t=$(now)
  for _ in $(seq 1 300); do   # at most 60 s
    code=$(curl -s -o /dev/null --max-time 2 -w '%{http_code}' "$base/healthz" || true)
    [ "$code" = 200 ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.2
  done
  if [ "$code" != 200 ]; then
    log "server did not become healthy (last /healthz: ${code:-none}); log tail:"
    tail -30 "$WORK/server-$name.log" | sed 's/^/  | /'
    stop_server; return 1
  fi
  log "server up: pid $SERVER_PID, http://127.0.0.1:$port, healthy after $(elapsed "$t") s, /readyz $(curl -s -o /dev/null --max-time 5 -w '%{http_code}' "$base/readyz" || true), log $WORK/server-$name.log"
}

# run_load NAME PORT TOKENS_FILE SEED_SECONDS WITH_PG(0|1)
run_load() {
  local name=$1 port=$2 tokens=$3 seed_s=$4 with_pg=$5
  local url=http://127.0.0.1:$port$API_PATH
  local tok code items bytes
  export TOKENS_FILE=$tokens
  tok=$(head -1 "$tokens")

  # sanity: first user's active set, and the auth failure modes
  code=$(curl -s --max-time 10 -o "$WORK/sample-$name.json" -w '%{http_code}' -H "Authorization: Bearer $tok" "$url" || true)
  items=$(python3 -c 'import json,sys
try:
    v = json.load(open(sys.argv[1]))
    print(len(v) if isinstance(v, list) else "not-an-array:" + type(v).__name__)
except Exception as e:
    print("not-json")' "$WORK/sample-$name.json")
  bytes=$(wc -c < "$WORK/sample-$name.json")
  log "sanity: GET $API_PATH as user00000 -> $code, items=$items, bytes=$bytes (sample: $WORK/sample-$name.json)"
  log "        no token -> $(curl -s -o /dev/null --max-time 10 -w '%{http_code}' "$url" || true)," \
      "unknown token -> $(curl -s -o /dev/null --max-time 10 -w '%{http_code}' -H 'Authorization: Bearer jw_0000' "$url" || true)"
  if [ "$code" != 200 ] || ! [[ "$items" =~ ^[0-9]+$ ]]; then
    log "SANITY FAILED for $name: not a 200 JSON array; body:"; head -c 600 "$WORK/sample-$name.json"; echo
    SUMMARY+=("$(printf '%-10s %10s %10s %10s %8s %9s %12s %12s' "$name" "-" "-" "-" "sanity" "${seed_s}s" "-" "-")")
    FAILED=1; return 0
  fi
  [ "$items" -gt 0 ] || log "WARNING: empty active set for user00000 (data aged out, or the query is wrong)"
  log "tokens: $(wc -l < "$tokens") distinct users; url=$url conc=$CONC threads=$THREADS duration=$DURATION"

  if [ "$WARMUP" != 0 ]; then
    wrk -t"$THREADS" -c"$CONC" -d"$WARMUP" --timeout 10s -s "$HERE/load.lua" "$url" > /dev/null
  fi

  local pm="" a0 a1 p0=0 p1=0 s0=0 s1=0 b0="" b1=""
  a0=$(tree_ticks "$SERVER_PID")
  if [ "$with_pg" = 1 ]; then
    pm=$(pg_postmaster_pid)
    p0=$(tree_ticks "$pm"); s0=$(pg_sessions); b0=$(pg_db_backends)
  fi
  log "loadavg before: $(cut -d' ' -f1-3 /proc/loadavg)"
  local out
  out=$(wrk -t"$THREADS" -c"$CONC" -d"$DURATION" --timeout 10s -s "$HERE/load.lua" "$url" | sed -n '/---- summary ----/,$p')
  a1=$(tree_ticks "$SERVER_PID")
  if [ "$with_pg" = 1 ]; then
    p1=$(tree_ticks "$pm"); s1=$(pg_sessions); b1=$(pg_db_backends)
  fi
  log "$out"
  local n; n=$(echo "$out" | awk '/^requests:/{print $2}')
  local app_ms="-" pg_ms="-"
  if [ -n "$n" ] && [ "$n" -gt 0 ]; then
    app_ms=$(awk -v a=$((a1 - a0)) -v n="$n" -v hz="$HZ" 'BEGIN { printf "%.3f", a / hz * 1000 / n }')
    if [ "$with_pg" = 1 ]; then
      log "new DB connections opened during the run: $((s1 - s0))"
      # CPU of the bench database's own backends (robust to other tenants of a shared cluster):
      # pids alive at the end, minus what they had at the start (backends that exited are lost)
      local bt
      bt=$(awk 'NR == FNR { if (NF == 2) before[$1] = $2; next } NF == 2 { t += $2 - ($1 in before ? before[$1] : 0) } END { print t + 0 }' \
             <(printf '%s\n' "$b0") <(printf '%s\n' "$b1"))
      if [ -n "$pm" ]; then
        pg_ms=$(awk -v p=$((p1 - p0)) -v n="$n" -v hz="$HZ" 'BEGIN { printf "%.3f", p / hz * 1000 / n }')
        awk -v a=$((a1 - a0)) -v p=$((p1 - p0)) -v b="$bt" -v n="$n" -v hz="$HZ" 'BEGIN {
          printf "cpu/request: app %.3f ms, postgres %.3f ms (whole cluster; %.3f ms in the %s backends) (app %.1f s, pg %.1f s CPU in the run)\n",
                 a / hz * 1000 / n, p / hz * 1000 / n, b / hz * 1000 / n, "'"$PG_DB"'", a / hz, p / hz }'
      else
        log "postmaster pid not readable here: PostgreSQL CPU not measured"
        awk -v a=$((a1 - a0)) -v n="$n" -v hz="$HZ" 'BEGIN { printf "cpu/request: app %.3f ms (app %.1f s CPU in the run)\n", a / hz * 1000 / n, a / hz }'
      fi
    else
      awk -v a=$((a1 - a0)) -v n="$n" -v hz="$HZ" 'BEGIN { printf "cpu/request: app %.3f ms (app %.1f s CPU in the run; SQLite runs inside the app)\n", a / hz * 1000 / n, a / hz }'
    fi
  fi
  log "loadavg after:  $(cut -d' ' -f1-3 /proc/loadavg)  ($(nproc) cores; other tenants' load counts here too)"
  log "server RSS: $(awk '/^VmRSS/{print $2 " " $3}' "/proc/$SERVER_PID/status" 2>/dev/null || echo '?'), threads: $(awk '/^Threads/{print $2}' "/proc/$SERVER_PID/status" 2>/dev/null || echo '?')"

  local rps p50 p99 errs
  rps=$(echo "$out" | awk '/^requests\/s:/{print $2}')
  p50=$(echo "$out" | awk '/^p50:/{print $2}')
  p99=$(echo "$out" | awk '/^p99:/{print $2}')
  errs=$(echo "$out" | awk '/^errors:/{print $2}')
  [ "${errs:-x}" = 0 ] || FAILED=1   # also when wrk printed no summary
  SUMMARY+=("$(printf '%-10s %10s %10s %10s %8s %9s %12s %12s' "$name" "${rps:--}" "${p50:--}ms" "${p99:--}ms" "${errs:--}" "${seed_s}s" "$app_ms" "$pg_ms")")
}

server_log_report() {  # after the run: anything the server complained about
  local f=$WORK/server-$1.log
  local n; n=$(grep -c -i -E 'error|warn|panic' "$f" 2>/dev/null || true)
  log "server log: $(wc -l < "$f") lines, ${n:-0} mentioning error/warn/panic"
  [ "${n:-0}" -gt 0 ] && grep -i -E 'error|warn|panic' "$f" | head -10 | cut -c1-300 | sed 's/^/  | /'
  return 0
}

# ---- 2-4. PostgreSQL ----
if [ "${BENCH_SKIP_PG:-0}" != 1 ]; then
  section "PostgreSQL: $PG_DB_URL"
  pg "$PG_SERVER_URL/postgres" -c "drop database if exists $PG_DB with (force)" -c "create database $PG_DB"
  t=$(now)
  DATABASE_URL=$PG_DB_URL "$BIN" migrate up
  log "migrate up: $(elapsed "$t") s"

  log "seeding $USERS users, $DATASETS datasets, $JOBS jobs ..."
  t=$(now)
  python3 "$HERE/tokens.py" --users "$USERS" --out "$WORK/tokens-pg.txt"
  {
    echo "create temp table bench_tokens (n int generated always as identity, token text not null);"
    echo "copy bench_tokens (token) from stdin;"
    cat "$WORK/tokens-pg.txt"
    echo '\.'
    cat "$HERE/seed-pg.sql"
  } | pg "$PG_DB_URL" -v jobs="$JOBS" -v datasets="$DATASETS"
  PG_SEED_S=$(elapsed "$t")
  log "tokens: $WORK/tokens-pg.txt ($(wc -l < "$WORK/tokens-pg.txt") lines)"
  log "seeding time (PostgreSQL, tokens + users + jobs + vacuum analyze): $PG_SEED_S s"
  log "PostgreSQL: $(pg -tA "$PG_DB_URL" -c "select version()" | cut -d, -f1); shared_buffers $(pg -tA "$PG_DB_URL" -c 'show shared_buffers'), max_connections $(pg -tA "$PG_DB_URL" -c 'show max_connections')"

  section "EXPLAIN ANALYZE: the active-jobs query on $JOBS rows"
  TOKENS_FILE="$WORK/tokens-pg.txt" pg "$PG_DB_URL" -f "$HERE/explain.sql"

  section "load: PostgreSQL"
  if start_server pg "$PG_PORT" "$PG_DB_URL"; then
    run_load postgres "$PG_PORT" "$WORK/tokens-pg.txt" "$PG_SEED_S" 1
    stop_server
    server_log_report pg
  else
    SUMMARY+=("$(printf '%-10s %10s %10s %10s %8s %9s %12s %12s' postgres - - - "no-start" "${PG_SEED_S}s" - -)")
    FAILED=1
  fi
fi

# ---- 5. SQLite ----
if [ "${BENCH_SKIP_SQLITE:-0}" != 1 ]; then
  section "SQLite: $SQLITE_DB"
  rm -f "$SQLITE_DB" "$SQLITE_DB-wal" "$SQLITE_DB-shm" "$SQLITE_DB-journal"
  : > "$SQLITE_DB"   # an empty file is an empty database, whether or not the binary creates one
  SQLITE_URL=sqlite://$SQLITE_DB
  t=$(now)
  DATABASE_URL=$SQLITE_URL "$BIN" migrate up
  log "migrate up: $(elapsed "$t") s"

  log "seeding $USERS users, $DATASETS datasets, $JOBS jobs ..."
  t=$(now)
  python3 "$HERE/tokens.py" --users "$USERS" --out "$WORK/tokens-sqlite.txt" --sqlite-sql "$WORK/users-sqlite.sql"
  sqlite3 -bail "$SQLITE_DB" < "$WORK/users-sqlite.sql"
  log "users:    $(elapsed "$t") s"
  t2=$(now)
  { echo ".parameter set @jobs $JOBS"; echo ".parameter set @datasets $DATASETS"; cat "$HERE/seed-sqlite.sql"; } \
    | sqlite3 -bail "$SQLITE_DB"
  log "jobs:     $(elapsed "$t2") s (datasets + jobs + analyze)"
  SQLITE_SEED_S=$(elapsed "$t")
  sqlite3 -bail "$SQLITE_DB" < "$HERE/check-sqlite.sql"
  log "file: $(du -h "$SQLITE_DB" | cut -f1) ($SQLITE_DB), journal_mode $(sqlite3 "$SQLITE_DB" 'pragma journal_mode'), sqlite3 CLI $(sqlite3 --version | cut -d' ' -f1)"
  log "tokens: $WORK/tokens-sqlite.txt ($(wc -l < "$WORK/tokens-sqlite.txt") lines)"
  log "seeding time (SQLite, tokens + users + jobs + analyze): $SQLITE_SEED_S s"

  section "load: SQLite"
  if start_server sqlite "$SQLITE_PORT" "$SQLITE_URL"; then
    run_load sqlite "$SQLITE_PORT" "$WORK/tokens-sqlite.txt" "$SQLITE_SEED_S" 0
    stop_server
    server_log_report sqlite
  else
    SUMMARY+=("$(printf '%-10s %10s %10s %10s %8s %9s %12s %12s' sqlite - - - "no-start" "${SQLITE_SEED_S}s" - -)")
    FAILED=1
  fi
fi

# ---- 6. summary ----
section "summary: GET $API_PATH, $CONC connections, $DURATION, $THREADS wrk thread(s), $USERS users / $JOBS jobs"
printf '%-10s %10s %10s %10s %8s %9s %12s %12s\n' backend 'req/s' p50 p99 errors seed 'app ms/req' 'pg ms/req'
for row in "${SUMMARY[@]}"; do printf '%s\n' "$row"; done
log "(pg ms/req counts the whole PostgreSQL cluster; loadavg before/after is printed above: on a shared"
log " machine req/s is noisy, CPU ms per request is the steadier figure)"
exit "$FAILED"
