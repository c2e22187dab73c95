#!/usr/bin/env bash
# Makes sure the S3-compatible server the tests start (moto, from PyPI) is installed, in a
# virtualenv outside the clone so later runs reuse it; prints its `moto_server` path.
set -euo pipefail
venv=${JOBWATCH_MOTO_VENV:-$HOME/.cache/jobwatch-venv}
if [ ! -x "$venv/bin/moto_server" ]; then
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q 'moto[server]==5.2.5' >&2
fi
echo "$venv/bin/moto_server"
