#!/usr/bin/env bash
# make bench-stats: JOBS (10 000 000) jobs in PostgreSQL and in SQLite, then the plans
# (EXPLAIN ANALYZE / EXPLAIN QUERY PLAN) of the admin stats' and metrics' statements and the
# time of GET /api/v2/admin/stats and GET /metrics against `jobwatch serve` (debug build, no
# workers, no metrics cache), best and median of RUNS (10). See bench/stats/README.md.
# Env: BENCH_STATS_URL (server; its database jobwatch_sbench is dropped and recreated),
#      JOBS, RUNS, BENCH_SKIP_PG=1, BENCH_SKIP_SQLITE=1.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
# shellcheck source=../lib.sh
source "$ROOT/bench/lib.sh"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/jobwatch-target}
JOBS=${JOBS:-10000000}
RUNS=${RUNS:-10}
SERVER=${BENCH_STATS_URL:-postgres://postgres@127.0.0.1:5432}
PG_URL="$SERVER/jobwatch_sbench"
need curl curl
need jq jq
[ "${BENCH_SKIP_PG:-0}" = 1 ] || need psql postgresql-client
[ "${BENCH_SKIP_SQLITE:-0}" = 1 ] || need sqlite3 sqlite3
(cd "$ROOT" && cargo build -q --bin jobwatch)
BIN="$CARGO_TARGET_DIR/debug/jobwatch"
WORK=$(mktemp -d)
SERVER_PID=
trap '[ -z "$SERVER_PID" ] || kill "$SERVER_PID" 2>/dev/null; rm -rf "$WORK"' EXIT
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); $JOBS jobs"

# seconds since $1 (date +%s.%N)
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# time_endpoint NAME URL PATH TOKEN: best and median of RUNS requests.
time_endpoint() {
  local name=$1 url=$2 path=$3 token=$4 times=()
  for _ in $(seq "$RUNS"); do
    times+=("$(curl -sf -o /dev/null -w '%{time_total}' -H "Authorization: Bearer $token" "$url$path")")
  done
  printf '%s\n' "${times[@]}" | sort -n | awk -v n="$name" -v p="$path" \
    '{ t[NR] = $1 * 1000 } END { printf "  %-8s GET %-20s best %7.1f ms, median %7.1f ms (%d runs)\n", n, p, t[1], t[int((NR + 1) / 2)], NR }'
}

# time_first NAME URL PATH TOKEN: one request, the first (admin stats: it folds the last day).
time_first() {
  local name=$1 url=$2 path=$3 token=$4
  curl -sf -o /dev/null -w '%{time_total}' -H "Authorization: Bearer $token" "$url$path" | awk -v n="$name" -v p="$path" \
    '{ printf "  %-8s GET %-20s first %7.1f ms (folds the last day into minutes)\n", n, p, $1 * 1000 }'
}

# serve_and_time NAME DATABASE_URL PORT
serve_and_time() {
  local name=$1 db=$2 port=$3
  DATABASE_URL="$db" JOBWATCH_DATA_DIR="$WORK" JOBWATCH_BIND="127.0.0.1:$port" JOBWATCH_NO_WORKERS=true \
    JOBWATCH_METRICS_CACHE=0s JOBWATCH_ADMIN_EMAIL=bench@example.com JOBWATCH_ADMIN_PASSWORD=bench-stats-pass \
    "$BIN" serve >"$WORK/$name.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.2; done
  local token
  token=$(curl -sf -H 'content-type: application/json' -d '{"email":"bench@example.com","password":"bench-stats-pass"}' \
    "http://127.0.0.1:$port/api/v2/auth/login" | jq -r .access_token)
  time_first "$name" "http://127.0.0.1:$port" /api/v2/admin/stats "$token"
  time_endpoint "$name" "http://127.0.0.1:$port" /api/v2/admin/stats "$token"
  time_endpoint "$name" "http://127.0.0.1:$port" /metrics "$token"
  curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/v2/admin/stats" \
    | jq -c '{queue: [.queue[] | {job_type, status, count}], last_day: .last_day | {completed, failed, cancelled, failure_rate}}'
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=
}

if [ "${BENCH_SKIP_PG:-0}" != 1 ]; then
  echo "== PostgreSQL ($(psql -X -At "$SERVER/postgres" -c 'show server_version'))"
  psql -X -q "$SERVER/postgres" -c 'drop database if exists jobwatch_sbench' -c 'create database jobwatch_sbench'
  DATABASE_URL="$PG_URL" "$BIN" migrate up >/dev/null
  t0=$(date +%s.%N)
  psql -X -q -v jobs="$JOBS" "$PG_URL" -f "$HERE/seed-pg.sql"
  echo "  seeded in $(since "$t0") s (vacuum analyze included)"
  psql -X -q "$PG_URL" -f "$HERE/explain-pg.sql"
  serve_and_time postgres "$PG_URL" 18471
fi

if [ "${BENCH_SKIP_SQLITE:-0}" != 1 ]; then
  echo "== SQLite (sqlite3 CLI $(sqlite3 --version | cut -d' ' -f1); the server bundles its own)"
  DB="$WORK/stats.db"
  DATABASE_URL="sqlite://$DB" "$BIN" migrate up >/dev/null
  t0=$(date +%s.%N)
  { echo ".parameter set @jobs $JOBS"; cat "$HERE/seed-sqlite.sql"; } | sqlite3 -bail "$DB"
  echo "  seeded in $(since "$t0") s (analyze included), file $(du -h "$DB" | cut -f1)"
  # Twice: the first run reads the pages from disk, the second from the page cache.
  sqlite3 -bail "$DB" < "$HERE/explain-sqlite.sql"
  sqlite3 -bail "$DB" < "$HERE/explain-sqlite.sql" | grep '^Run Time'
  serve_and_time sqlite "sqlite://$DB" 18472
fi
