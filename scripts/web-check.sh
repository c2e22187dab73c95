#!/usr/bin/env bash
# make test's web half: the page's packages as locked; its API types generated from the
# committed OpenAPI copy (which tests/api/web.rs keeps equal to the service's); type check;
# unit tests; a fresh build that must equal the committed web/dist (what the binary embeds);
# then the browser tests against a real `jobwatch serve`.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT/web"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/jobwatch-target}

stale() { echo "FAIL: $1 — run \`make web\` and commit the result" >&2; exit 1; }

# Outside CI a machine without Node or Chromium skips that part loudly; under CI it must run.
skip() {
  if [ "${CI:-}" = true ]; then
    echo "FAIL: $1, and under CI the web checks may not be skipped." >&2
    exit 1
  fi
  cat >&2 <<MSG
################################################################################
#  WARNING: $1
#  $2 NOT checked. $3
################################################################################
MSG
  exit 0
}
command -v npm >/dev/null || skip "Node and npm are not installed" "The page (web/) is" "Install Node 20 to check it."

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

npx openapi-typescript src/api/openapi.json -o "$tmp/schema.d.ts" >/dev/null 2>&1
cmp -s "$tmp/schema.d.ts" src/api/schema.d.ts || stale "web/src/api/schema.d.ts differs from what web/src/api/openapi.json generates"
npx tsc --noEmit
npx vitest run
JOBWATCH_WEB_OUT="$tmp/dist" npm run -s build
diff -r "$tmp/dist" dist >/dev/null || stale "the committed web/dist is not what web/ builds"
echo "web: types, unit tests and the committed build are current"

CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || skip "no Chromium at $CHROMIUM" "The page in a browser (web/e2e) is" "Install it: apt-get install chromium."
export CHROMIUM
if [ "${JOBWATCH_SKIP_E2E:-0}" = 1 ]; then
  echo "web: browser tests skipped (JOBWATCH_SKIP_E2E=1)"
  exit 0
fi
(cd "$ROOT" && cargo build -q --bin jobwatch)
JOBWATCH_BIN="$CARGO_TARGET_DIR/debug/jobwatch" node e2e/run.mjs
