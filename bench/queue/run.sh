#!/usr/bin/env bash
# make bench-queue: jobwatch in the four scenarios of ../shared/peers/queue-bench, on the same
# kind of PostgreSQL cluster (initdb defaults, port 5434, data in /tmp/queuebench/pg — the very
# cluster the peers' run.sh uses, so both can be measured on one server in one sitting).
# Env: BENCH_QUEUE_URL (use an existing server instead), N, ENQ_BATCH, CONC, C_RATE, C_SECONDS,
#      D_N, D_UPDATES, SCENARIOS — the peers' names and defaults.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/jobwatch-target}

BASE=/tmp/queuebench
PGDATA="$BASE/pg"
PORT=5434
PGBIN=/usr/lib/postgresql/15/bin
if [ "$(id -u)" = 0 ]; then AS_PG=(runuser -u postgres --); else AS_PG=(); fi

STARTED=0
stop_pg() { [ "$STARTED" = 1 ] && "${AS_PG[@]}" "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null || true; }
trap stop_pg EXIT

if [ -z "${BENCH_QUEUE_URL:-}" ]; then
  mkdir -p "$BASE"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$BASE"
  if [ ! -f "$PGDATA/PG_VERSION" ]; then
    "${AS_PG[@]}" "$PGBIN/initdb" -D "$PGDATA" -U postgres -A trust -E UTF8 --no-locale >/dev/null
  fi
  if ! "$PGBIN/pg_isready" -q -h "$BASE" -p "$PORT"; then
    "${AS_PG[@]}" "$PGBIN/pg_ctl" -D "$PGDATA" -l "$BASE/postgres.log" -w \
      -o "-p $PORT -k $BASE -c listen_addresses=localhost" start >/dev/null
    STARTED=1
  fi
  export BENCH_QUEUE_URL="postgres://postgres@127.0.0.1:$PORT"
fi

(cd "$ROOT" && cargo build --release --bin jobwatch --example bench_queue)
echo "server: $BENCH_QUEUE_URL ($(psql -X -qAt "$BENCH_QUEUE_URL/postgres" -c 'show shared_buffers') shared_buffers, fsync $(psql -X -qAt "$BENCH_QUEUE_URL/postgres" -c 'show fsync'))"
echo "loadavg before: $(cut -d' ' -f1-3 /proc/loadavg)"
JOBWATCH_BIN="$CARGO_TARGET_DIR/release/jobwatch" "$CARGO_TARGET_DIR/release/examples/bench_queue"
echo "loadavg after:  $(cut -d' ' -f1-3 /proc/loadavg)"
