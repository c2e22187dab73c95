#!/usr/bin/env bash
# make bench-import: a 100 MiB and a 1 GiB generated CSV, each uploaded to a fresh
# `jobwatch serve` (release build) on PostgreSQL; end-to-end MB/s, the time until the job
# first shows in /jobs/active, and the server's peak RSS.
# Env: BENCH_IMPORT_URL (PostgreSQL server), SIZES_MIB, BENCH_DIR (see examples/bench_import.rs).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/jobwatch-target}
(cd "$ROOT" && cargo build --release --bin jobwatch --example bench_import)
echo "loadavg before: $(cut -d' ' -f1-3 /proc/loadavg)"
JOBWATCH_BIN="$CARGO_TARGET_DIR/release/jobwatch" "$CARGO_TARGET_DIR/release/examples/bench_import"
echo "loadavg after:  $(cut -d' ' -f1-3 /proc/loadavg)"
