#!/usr/bin/env bash
# make test fuzzes the API against its own OpenAPI document with schemathesis (PyPI): a fresh
# `jobwatch serve` on SQLite, then one on a scratch PostgreSQL database, each logged in as an
# admin. Any server error, any status, header, content type or body the document does not
# list, a valid request refused or an invalid one accepted fails the run. The settings, and the
# few rules the document cannot state, are in scripts/schemathesis.toml.
#
# Uses the debug binary the suite built ($CARGO_TARGET_DIR/debug/jobwatch); builds nothing.
# Without python3 (or its venv module) it skips loudly, and without PostgreSQL it runs SQLite
# alone, loudly — except under CI (CI=true), where either fails the run.
# SCHEMATHESIS_EXAMPLES (default 40) bounds the test cases per operation and phase.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/jobwatch-target}
BIN="$CARGO_TARGET_DIR/debug/jobwatch"
VERSION=4.32.5
VENV="$HOME/.cache/jobwatch-schemathesis-$VERSION"
EXAMPLES=${SCHEMATHESIS_EXAMPLES:-40}
PG_URL=${JOBWATCH_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
started=$SECONDS

# Prints a warning box, or under CI fails with it.
skip_or_fail() {
  if [ "${CI:-}" = true ]; then
    echo "FAIL: $1, and under CI the schemathesis run may not be skipped." >&2
    exit 1
  fi
  printf '%s\n' "################################################################################" \
    "#  WARNING: $1" "#  $2" "################################################################################" >&2
}

[ -x "$BIN" ] || { echo "FAIL: no $BIN: build it first (cargo build --bin jobwatch)" >&2; exit 1; }
# One older than its sources would fuzz old code (web/dist does not count: a debug build reads
# the page from disk).
newer=$(cd "$ROOT" && find src migrations Cargo.toml Cargo.lock -newer "$BIN" -type f -print -quit)
[ -z "$newer" ] || { echo "FAIL: $BIN is older than $newer: build it first (cargo build --bin jobwatch)" >&2; exit 1; }

if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -qF "$VERSION"; then
  if ! command -v python3 >/dev/null || ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
    skip_or_fail "python3 with its venv module is missing" "The API is NOT fuzzed with schemathesis. Install python3 and python3-venv."
    exit 0
  fi
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "schemathesis==$VERSION"
fi

work=$(mktemp -d)
server=
database=
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  if [ -n "$database" ]; then psql "$PG_URL" -qc "drop database if exists $database with (force)" >/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# Starts `jobwatch serve` on database URL $1 (empty: SQLite in the data dir), logs in as the
# admin it creates, and sets $server, $port and $token.
serve() {
  local data="$work/data-$RANDOM" password=schemathesis-admin-password
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  env ${1:+DATABASE_URL="$1"} JOBWATCH_DATA_DIR="$data" JOBWATCH_BIND="127.0.0.1:$port" \
    JOBWATCH_ADMIN_PASSWORD=$password RUST_LOG=warn "$BIN" serve > "$work/server.log" 2>&1 &
  server=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/readyz" > /dev/null && break; sleep 0.1; done
  token=$(curl -sf "http://127.0.0.1:$port/api/v2/auth/login" -H 'content-type: application/json' \
    -d "{\"email\": \"admin@localhost\", \"password\": \"$password\"}" \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])') \
    || { echo "FAIL: jobwatch serve did not start, or its admin could not log in:" >&2; cat "$work/server.log" >&2; exit 1; }
}

stop() {
  kill "$server"
  wait "$server" 2>/dev/null || true
  server=
}

# Fuzzes the server `serve` started; prints one summary line, and everything on a failure.
fuzz() {
  local backend=$1 log="$work/$1.txt" status=0 began=$SECONDS
  # Not fuzzed: logout would revoke the very token the run uses, and every later request would
  # be a 401; the live socket needs a WebSocket upgrade, which schemathesis does not make
  # (tests/api/live.rs covers both).
  (cd "$work" && "$VENV/bin/schemathesis" --no-color --config-file "$ROOT/scripts/schemathesis.toml" run \
    "http://127.0.0.1:$port/api/v2/openapi.json" -H "Authorization: Bearer $token" \
    --max-examples "$EXAMPLES" --exclude-path /api/v2/auth/logout --exclude-path /api/v2/jobs/ws) \
    > "$log" 2>&1 || status=$?
  local cases operations
  cases=$(sed -n 's/^ *\([0-9]* generated.*\)$/\1/p' "$log" | tail -1)
  operations=$(sed -n 's/^ *Tested: *\([0-9]*\).*$/\1/p' "$log" | tail -1)
  if [ "$status" -ne 0 ]; then
    cat "$log" >&2
    echo "--- server log ---" >&2
    cat "$work/server.log" >&2
    echo "FAIL: schemathesis $backend (exit $status): ${operations:-?} operations, ${cases:-no test cases}" >&2
    exit 1
  fi
  echo "schemathesis $backend: ${operations:-?} operations, test cases: ${cases:-?}, 0 failures (at most $EXAMPLES examples an operation, $((SECONDS - began)) s)"
}

serve ""
fuzz sqlite
stop

if psql "$PG_URL" -qAtc 'select 1' >/dev/null 2>&1; then
  # Databases a crashed run left behind (none that a run going on elsewhere is using).
  for db in $(psql "$PG_URL" -qAtc "select datname from pg_database d where datname like 'jwst\_%'
                and not exists (select 1 from pg_stat_activity a where a.datname = d.datname)"); do
    psql "$PG_URL" -qc "drop database if exists $db" >/dev/null || true
  done
  database="jwst_$(python3 -c 'import uuid; print(uuid.uuid4().hex)')"
  psql "$PG_URL" -qc "create database $database" >/dev/null
  serve "${PG_URL%/*}/$database"
  fuzz postgres
  stop
else
  skip_or_fail "PostgreSQL is not reachable at $PG_URL" "schemathesis ran on SQLite ONLY; the PostgreSQL half is NOT fuzzed."
fi
echo "schemathesis: done in $((SECONDS - started)) s"
