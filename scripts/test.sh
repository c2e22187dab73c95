#!/usr/bin/env bash
# Runs the test suite on both backends. The PostgreSQL half needs the server at
# $JOBWATCH_TEST_DATABASE_URL; without it the SQLite half runs alone, loudly — except under
# CI (CI=true), where a missing PostgreSQL fails the run so it can never be skipped silently.
set -euo pipefail

# Runs cargo test with the given filter arguments, then prints one total line.
run_tests() {
  local log
  log=$(mktemp)
  set +e
  cargo test "$@" 2>&1 | tee "$log"
  local status=${PIPESTATUS[0]}
  set -e
  awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
       END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
  rm -f "$log"
  return "$status"
}

# Clusters of restart tests killed before their cleanup (tests/outage/cluster.rs): SIGQUIT is an
# immediate shutdown. Only old ones: another run on this machine may be using a young one.
find "${TMPDIR:-/tmp}" -maxdepth 1 -name 'jobwatch-pg-*' -mmin +30 2>/dev/null | while read -r dir; do
  pid=$(head -1 "$dir/data/postmaster.pid" 2>/dev/null) && kill -QUIT "$pid" 2>/dev/null || true
  rm -rf "$dir"
done

# The S3 tests start a real S3-compatible server (moto); installed on first use.
JOBWATCH_TEST_S3_SERVER=$(bash "$(dirname "$0")/s3-server.sh")
export JOBWATCH_TEST_S3_SERVER
# The email tests start a real SMTP server (aiosmtpd); installed on first use.
JOBWATCH_TEST_SMTP_PYTHON=$(bash "$(dirname "$0")/smtp-server.sh")
export JOBWATCH_TEST_SMTP_PYTHON

url=${JOBWATCH_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
export JOBWATCH_TEST_DATABASE_URL=$url

if psql "$url" -qAtc 'select 1' >/dev/null 2>&1; then
  # Schemas left by tests that panicked before cleaning up.
  psql "$url" -qAt >/dev/null <<'SQL'
do $$
declare s text;
begin
  for s in select nspname from pg_namespace where nspname like 'jwtest\_%' loop
    execute format('drop schema %I cascade', s);
  end loop;
end $$;
SQL
  # Databases left by process tests that panicked (DROP DATABASE cannot run in a DO block).
  for db in $(psql "$url" -qAtc "select datname from pg_database where datname like 'jwproc\_%'"); do
    psql "$url" -qc "drop database $db with (force)" >/dev/null
  done
  run_tests
  exit $?
fi

if [ "${CI:-}" = true ]; then
  echo "FAIL: PostgreSQL is not reachable at $url, and under CI the PostgreSQL half may not be skipped." >&2
  exit 1
fi
cat >&2 <<MSG
################################################################################
#  WARNING: PostgreSQL is not reachable at $url
#  Running the SQLite half of the suite ONLY. The PostgreSQL half is NOT tested.
#  Start PostgreSQL or set JOBWATCH_TEST_DATABASE_URL to run it.
################################################################################
MSG
run_tests -- --skip postgres
