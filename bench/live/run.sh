#!/usr/bin/env bash
# make bench-live: two jobwatch nodes on one PostgreSQL database, a worker, and WebSocket clients
# (examples/bench_live/; what it measures: bench/live/README.md).
# Env: BENCH_LIVE_URL (server; its database jobwatch_lbench is dropped and recreated), USERS (100),
#      CLIENTS (1000), IDLE (10000), PHASE (20 s), HISTORY_JOBS (1000000), BENCH_SKIP_BUILD=1.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/jobwatch-target}
# 10 000 idle sockets: one descriptor each in the bench and in the node.
ulimit -n "$(ulimit -Hn)"
[ "${BENCH_SKIP_BUILD:-0}" = 1 ] || (cd "$ROOT" && cargo build --release --bin jobwatch --example bench_live)
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r)"
echo "loadavg before: $(cut -d' ' -f1-3 /proc/loadavg)"
JOBWATCH_BIN="$CARGO_TARGET_DIR/release/jobwatch" "$CARGO_TARGET_DIR/release/examples/bench_live"
echo "loadavg after:  $(cut -d' ' -f1-3 /proc/loadavg)"
