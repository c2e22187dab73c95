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

# The same files into DuckDB (from PyPI, in a virtualenv outside the clone), in the same sitting.
venv=${BENCH_DUCKDB_VENV:-$HOME/.cache/jobwatch-venv-duckdb}
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import duckdb' 2>/dev/null; then
  python3 -m venv "$venv" && "$venv/bin/pip" install -q 'duckdb==1.4.2'
fi
dir=${BENCH_DIR:-/tmp/jobwatch-bench-import}
files=()
for mib in $(echo "${SIZES_MIB:-100,1024}" | tr ',' ' '); do files+=("$dir/bench-${mib}mib.csv"); done
"$venv/bin/python" "$ROOT/bench/import/duckdb_ingest.py" "${files[@]}"
echo "loadavg after duckdb: $(cut -d' ' -f1-3 /proc/loadavg)"
