#!/usr/bin/env bash
# make test runs README.md's first session, taken from README.md itself, against a fresh
# `jobwatch serve` on a temporary SQLite database: a README that drifts from the code fails.
# Only the password line is filled in, and the address points at the test's own port. Its
# `jobwatch` is the debug build made here, first on PATH (a user's is `make install`'s). Then
# every path the README, DEVELOPERS.md and docs/ name must exist (scripts/doc-paths.py).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/jobwatch-target}
BIN="$CARGO_TARGET_DIR/debug/jobwatch"
(cd "$ROOT" && cargo build -q --bin jobwatch)
python3 "$ROOT/scripts/doc-paths.py"

block=$(awk '/<!-- first-session/ {on=1; next} on && /^```bash/ {inside=1; next} inside && /^```/ {exit} inside {print}' "$ROOT/README.md")
[ -n "$block" ] || { echo "FAIL: README.md has no first-session block" >&2; exit 1; }

work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
password=readme-check-password
JOBWATCH_DATA_DIR="$work/data" JOBWATCH_BIND="127.0.0.1:$port" JOBWATCH_ADMIN_PASSWORD=$password \
  RUST_LOG=warn "$BIN" serve > "$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/readyz" > /dev/null && break; sleep 0.1; done

script="$work/first-session.sh"
{
  echo 'set -euo pipefail'
  printf '%s\n' "$block" \
    | sed -e "s|^PASSWORD='…'|PASSWORD='$password'|" -e "s|http://127.0.0.1:8080|http://127.0.0.1:$port|"
} > "$script"
grep -q "PASSWORD='$password'" "$script" || { echo "FAIL: the first session has no PASSWORD='…' line" >&2; exit 1; }

# The commands run from the clone (they name examples/data/…), with this build's jobwatch.
export PATH="$CARGO_TARGET_DIR/debug:$PATH"
[ "$(command -v jobwatch)" = "$BIN" ] || { echo "FAIL: jobwatch on PATH is $(command -v jobwatch), not $BIN" >&2; exit 1; }
if ! (cd "$ROOT" && timeout 120 bash "$script" > "$work/out.txt" 2>&1); then
  echo "FAIL: README.md's first session stopped with an error:" >&2
  cat "$work/out.txt" >&2
  exit 1
fi
rm -f "$ROOT/prices-export.xlsx"
# Two watches end `completed in …` (the import, the export); the broken file's ends naming its
# line, and exits 1.
[ "$(grep -c '^completed in ' "$work/out.txt")" -eq 2 ] && grep -q '^failed: .*line 3' "$work/out.txt" \
  && grep -qx 'exit status 1' "$work/out.txt" \
  || { echo "FAIL: the first session ran but did not import and export, or the broken file did not fail naming its line:" >&2; cat "$work/out.txt" >&2; exit 1; }
echo "readme: the first session ran as written ($(grep -c . "$work/out.txt") lines of output)"
