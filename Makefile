# jobwatch — the commands a newcomer and CI type. `make help` lists them.

# Build artifacts live outside the clone so a fresh clone (CI) reuses them.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/jobwatch-target
# PostgreSQL the tests use (each test gets a schema of its own there).
export JOBWATCH_TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test

.PHONY: help run run-release install test test-sqlite lint web coverage bench-api bench-queue bench-import bench-live bench-stats

help:
	@echo "make run          build and start jobwatch on embedded SQLite (http://127.0.0.1:8080)"
	@echo "make test         lint, the whole suite on SQLite and PostgreSQL, schemathesis on both, the page, the README"
	@echo "make install      put the jobwatch binary on your PATH (cargo install, ~/.cargo/bin)"
	@echo "make test-sqlite  the suite on SQLite only"
	@echo "make web          rebuild the page (web/ → web/dist, embedded in the binary; needs Node 20)"
	@echo "make coverage     line coverage of the workspace (cargo llvm-cov)"
	@echo "make bench-api    GET /api/v2/jobs/active under load, 1M jobs, PostgreSQL and SQLite"
	@echo "make bench-queue  enqueue, process, latency and progress scenarios (vs graphile-worker, pg-boss)"
	@echo "make bench-import upload a 100 MiB and a 1 GiB CSV: end-to-end MB/s, peak RSS"
	@echo "make bench-live   WebSocket push on two nodes: latencies, memory per socket, DB load vs polling, history pages"
	@echo "make bench-stats  admin stats and /metrics on 10M jobs, PostgreSQL and SQLite: plans and timings"

run:
	@[ -x "$(CARGO_TARGET_DIR)/debug/jobwatch" ] || echo "jobwatch: the first build compiles for several minutes (later ones take seconds)..."
	cargo run --bin jobwatch -- serve

install:
	cargo install --path . --locked

run-release:
	cargo run --release --bin jobwatch -- serve

lint:
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings

test: lint
	bash scripts/test.sh
	bash scripts/schemathesis.sh
	bash scripts/readme-check.sh
	bash scripts/web-check.sh

# The page: its API types from the service's OpenAPI document, then the build the binary embeds.
web:
	cargo run -q --bin jobwatch -- openapi > web/src/api/openapi.json
	cd web && npm ci --no-audit --no-fund && npm run gen:api && npm run build

test-sqlite:
	cargo test -- --skip postgres

coverage:
	bash scripts/coverage.sh

bench-api:
	bash bench/api/run.sh

bench-queue:
	bash bench/queue/run.sh

bench-import:
	bash bench/import/run.sh

bench-live:
	bash bench/live/run.sh

bench-stats:
	bash bench/stats/run.sh
