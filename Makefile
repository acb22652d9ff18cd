# The README's commands. Each target installs what it needs into .venv first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint install clean dev bench bench-quick bench-callbacks bench-requests bench-contacts browser

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

# The Dagster UI on the sandbox API, with run history in the project's .dagster_home/ and the
# warehouse, published copy and reports in data/dev/: never the default paths, nor a real
# WAREHOUSE_PATH from .env (the environment wins over .env).
DAGSTER_HOME := $(CURDIR)/.dagster_home
DEV_DIR := $(CURDIR)/data/dev
SANDBOX_PORT ?= 8765
dev: $(STAMP)
	@mkdir -p $(DAGSTER_HOME) $(DEV_DIR) && cp dagster.yaml $(DAGSTER_HOME)/dagster.yaml
	@$(BIN)/campaign-analytics sandbox --port $(SANDBOX_PORT) > $(DAGSTER_HOME)/sandbox.log 2>&1 & \
	  trap "kill $$! 2>/dev/null" EXIT INT TERM; \
	  EXOTEL_BASE_URL=http://127.0.0.1:$(SANDBOX_PORT) EXOTEL_ACCOUNT_SID=sandbox_account \
	  EXOTEL_API_KEY=sandbox_key EXOTEL_API_TOKEN=sandbox_token EXOTEL_RATE_LIMIT_PER_MINUTE=0 \
	  WAREHOUSE_PATH=$(DEV_DIR)/warehouse.duckdb PUBLISHED_PATH=$(DEV_DIR)/published.duckdb \
	  DAGSTER_HOME=$(DAGSTER_HOME) $(BIN)/dagster dev -m orchestration.definitions

# Benchmarks (scripts, not tests): results in BENCHMARKS.md and bench/results-<scale>.json.
bench: $(STAMP)
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.callbacks
	$(BIN)/python -m bench.requests
	$(BIN)/python -m bench.contacts

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

# Python (ruff) and the dbt SQL (sqlfluff, .sqlfluff); `make test` runs this first.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/sqlfluff lint --disable-progress-bar dbt_project/models dbt_project/tests

clean:
	rm -rf $(VENV) data/*.duckdb .dagster_home dbt_project/target dbt_project/logs
