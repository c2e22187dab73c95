#!/usr/bin/env bash
# Run the reference Python peer (/work/shared/peers/seed-fastapi: FastAPI + SQLAlchemy async +
# PostgreSQL 15) in the same sitting as bench/api/run.sh, with the same load, and print its figures.
#
# The peer's source is read-only: it is copied to /tmp/seedref-src and run from there. Its run.sh
# creates a throwaway PostgreSQL 15 cluster on 127.0.0.1:5433 (data and socket under /tmp/seedref,
# as the 'postgres' OS user when run as root), a venv via pip (needs PyPI once), seeds 1000 users /
# 1M jobs, and starts uvicorn on 127.0.0.1:8090; its load.sh runs wrk; its stop.sh stops both.
#
# Knobs: CONC (64), DURATION (20s), THREADS (1), WARMUP (5s) as for run.sh; WORKERS (1 uvicorn
# worker), SEED_USERS, SEED_JOBS, DB_POOL_SIZE, DB_MAX_OVERFLOW as the peer's run.sh;
# PEER_SRC (../shared/peers/seed-fastapi beside the repository), BENCH_WORK_DIR (/tmp/jobwatch-bench, for the logs).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"

# shared/ sits beside the repository's folder.
SRC=${PEER_SRC:-$(cd "$HERE/../../.." && pwd)/shared/peers/seed-fastapi}
DST=/tmp/seedref-src
WORK=${BENCH_WORK_DIR:-/tmp/jobwatch-bench}
export CONC=${CONC:-64} DURATION=${DURATION:-20s} THREADS=${THREADS:-1} WARMUP=${WARMUP:-5s}
mkdir -p "$WORK"

. "$HERE/../lib.sh"
need curl curl
need wrk wrk
need python3 python3
[ -x /usr/lib/postgresql/15/bin/initdb ] || { echo "PostgreSQL 15 server binaries missing (/usr/lib/postgresql/15/bin)"; exit 1; }
[ -f "$SRC/run.sh" ] || { echo "no peer at $SRC"; exit 1; }

STARTED=0
cleanup() { [ "$STARTED" = 1 ] && bash "$DST/stop.sh" || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -d "$DST" ]; then chmod -R u+w "$DST"; rm -rf "$DST"; fi
cp -r "$SRC" "$DST"
chmod -R u+w "$DST"   # the copy may write __pycache__; the shared original stays untouched
echo "peer copied: $SRC -> $DST"

# One fix to the copy of the peer's load.sh, measurement unchanged: its tree_ticks() reads
# /proc/PID/stat of each postmaster child listed by ps; a backend that exits in between (e.g. the
# one of its own sessions() psql call just before) makes awk fail, and `set -e` aborts the whole
# load. A vanished child now counts 0 ticks (its CPU is in the postmaster's cutime once reaped).
python3 - "$DST/load.sh" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
old = "t=$((t + $(awk '{print $14+$15}' /proc/$p/stat)))"
new = "t=$((t + $(awk '{print $14+$15}' /proc/$p/stat 2>/dev/null || echo 0)))"
if old in s:
    open(p, "w").write(s.replace(old, new))
    print("patched load.sh tree_ticks(): a child that exits between ps and /proc read counts 0")
else:
    print("load.sh tree_ticks() line not found: running it unpatched")
PY
diff "$SRC/load.sh" "$DST/load.sh" || true

bash "$DST/stop.sh"   # leftovers of an earlier sitting (app on 8090, cluster on 5433), if any

echo; echo "==== peer: run.sh (cluster, venv, seed, app) ===="
STARTED=1
t=$(date +%s)
bash "$DST/run.sh" 2>&1 | tee "$WORK/peer-run.log"
echo "run.sh took $(( $(date +%s) - t )) s"

echo; echo "==== peer: load.sh (CONC=$CONC DURATION=$DURATION THREADS=$THREADS WARMUP=$WARMUP) ===="
bash "$DST/load.sh" 2>&1 | tee "$WORK/peer-load.log"

echo; echo "==== peer: stop.sh ===="
bash "$DST/stop.sh"; STARTED=0

L=$WORK/peer-load.log
echo; echo "==== summary: peer (seed-fastapi, uvicorn workers=${WORKERS:-1}) ===="
printf '%-10s %10s %10s %10s %8s %9s %12s %12s\n' backend 'req/s' p50 p99 errors seed 'app ms/req' 'pg ms/req'
printf '%-10s %10s %10s %10s %8s %9s %12s %12s\n' peer \
  "$(awk '/^requests\/s:/{print $2}' "$L")" "$(awk '/^p50:/{print $2 "ms"}' "$L")" "$(awk '/^p99:/{print $2 "ms"}' "$L")" \
  "$(awk '/^errors:/{print $2}' "$L")" "$(awk '/^total seeding time:/{print $4}' "$WORK/peer-run.log")" \
  "$(awk '/^cpu\/request:/{print $3}' "$L")" "$(awk '/^cpu\/request:/{print $6}' "$L")"
echo "(logs: $WORK/peer-run.log, $WORK/peer-load.log; pg ms/req counts the peer's own cluster on :5433)"
