# The README's commands. Each target installs what it needs into .venv first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint install clean dev docs bench bench-quick bench-callbacks bench-requests bench-contacts bench-lake bench-history browser

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/campaign-analytics demo

test: lint browser
	$(BIN)/python -m pytest

# The report tests open the HTML in Debian's Chromium (playwright drives it; no browser
# download). Installed from Debian's packages when missing; needs root, as on CI.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the report tests ..."; \
	  apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 || \
	  { apt-get update >/dev/null && apt-get install -y --no-install-recommends chromium >/dev/null; }; }

# The Dagster UI on the sandbox API (orchestration/dev.py): run history in .dagster_home/, the
# warehouse, published copy and callbacks in data/dev/, never the default paths nor a real
# WAREHOUSE_PATH from .env. Ctrl-C or SIGTERM stops it and all it started.
SANDBOX_PORT ?= 8765
UI_PORT ?= 3000
dev: $(STAMP)
	exec $(BIN)/campaign-analytics dev --port $(UI_PORT) --sandbox-port $(SANDBOX_PORT)

# dbt's documentation of the models (WAREHOUSE_PATH's catalog; the demo's by default here).
docs: $(STAMP)
	WAREHOUSE_PATH=$${WAREHOUSE_PATH:-data/demo/warehouse.duckdb} $(BIN)/campaign-analytics docs --serve

# Benchmarks (scripts, not tests): results in BENCHMARKS.md and bench/results-<scale>.json.
# The dlt comparison needs dlt (the `bench` extra), installed here only.
BENCH_STAMP := $(VENV)/.installed-bench
$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	@touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.run --history
	$(BIN)/python -m bench.lake
	$(BIN)/python -m bench.callbacks
	$(BIN)/python -m bench.requests
	$(BIN)/python -m bench.brevo_requests
	$(BIN)/python -m bench.contacts

# Brevo's requests per run against the fewest the data allows, and an account's capacity.
bench-brevo: $(STAMP)
	$(BIN)/python -m bench.brevo_requests

# API requests per run against the fewest the data allows (a load, then 7 daily runs).
bench-requests: $(STAMP)
	$(BIN)/python -m bench.requests

# A 1-million-row contacts file through `contacts load` (time and peak memory).
bench-contacts: $(STAMP)
	$(BIN)/python -m bench.contacts

# The callback receiver alone: throughput, time to 200, exactly-once after kill -9.
bench-callbacks: $(STAMP)
	$(BIN)/python -m bench.callbacks

bench-quick: $(STAMP)
	$(BIN)/python -m bench.run --quick

# Ingest against dlt's best configuration, alternating, and raw bytes per record.
bench-lake: $(BENCH_STAMP)
	$(BIN)/python -m bench.lake

# A daily run on 365 days of history against the same day into an empty warehouse.
bench-history: $(STAMP)
	$(BIN)/python -m bench.run --history

# Python (ruff) and the dbt SQL (sqlfluff, .sqlfluff); `make test` runs this first.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/sqlfluff lint --disable-progress-bar dbt_project/models dbt_project/tests

clean:
	rm -rf $(VENV) data/*.duckdb data/lake data/*-lake .dagster_home dbt_project/target dbt_project/logs
