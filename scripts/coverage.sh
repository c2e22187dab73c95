#!/usr/bin/env bash
# Line coverage of the whole suite (both backends), printed as a per-file table and total.
set -euo pipefail
if ! cargo llvm-cov --version >/dev/null 2>&1; then
  rustup component add llvm-tools
  cargo install cargo-llvm-cov --locked
fi
export JOBWATCH_TEST_DATABASE_URL=${JOBWATCH_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
cargo llvm-cov --summary-only "$@"
