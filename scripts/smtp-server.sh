#!/usr/bin/env bash
# Makes sure the SMTP server the email tests start (aiosmtpd, from PyPI, run by
# scripts/smtp-sink.py) is installed, in the tests' virtualenv outside the clone; prints the
# virtualenv's python.
set -euo pipefail
venv=${JOBWATCH_MOTO_VENV:-$HOME/.cache/jobwatch-venv}
[ -x "$venv/bin/python" ] || python3 -m venv "$venv" >&2
if ! "$venv/bin/python" -c 'import aiosmtpd' 2>/dev/null; then
  "$venv/bin/pip" install -q --disable-pip-version-check 'aiosmtpd==1.4.6' >&2
fi
echo "$venv/bin/python"
