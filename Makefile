# PSA Pipeline. Two commands from a fresh clone: `make demo`, then `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The venv's tools (dbt above all: dagster-dbt runs `dbt` from PATH under `dagster dev`)
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
# dagster.yaml is copied here; Dagster's warning that ./dagster.yaml is unused is expected
export DAGSTER_HOME := $(CURDIR)/.dagster
export PSA_DATA_DIR ?= $(CURDIR)/data
DBT := cd dbt_project && ../$(BIN)/dbt

.PHONY: setup demo test test-fast dev dashboard sandbox validate bench lint fmt clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) is required (Python 3.11)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

# dbt's manifest: dagster-dbt reads it to build the assets; only `dagster dev` makes it itself.
dbt_project/target/manifest.json: $(STAMP) $(shell find dbt_project/models dbt_project/macros -type f) dbt_project/dbt_project.yml
	$(DBT) parse --profiles-dir . --quiet
	touch $@

$(DAGSTER_HOME)/dagster.yaml: dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	cp dagster.yaml $@

setup: $(STAMP) dbt_project/target/manifest.json $(DAGSTER_HOME)/dagster.yaml

demo: setup
	$(BIN)/psa-pipeline demo

test: setup
	$(BIN)/python -m pytest

test-fast: setup
	$(BIN)/python -m pytest -m "not slow"

validate: setup
	$(BIN)/dagster definitions validate -w workspace.yaml

# The UI on 127.0.0.1:3000 with the sandbox firm serving on 127.0.0.1:8765 beside it.
dev: setup
	set -m; \
	$(BIN)/psa-pipeline sandbox serve --host 127.0.0.1 --port 8765 & sandbox=$$!; \
	trap 'kill $$sandbox 2>/dev/null' EXIT; \
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

# The executive dashboard on the last publication (make demo publishes one), read-only.
# PSA_DASHBOARD_ADDRESS=0.0.0.0 opens it to the network; the default is this machine only.
PSA_DASHBOARD_ADDRESS ?= 127.0.0.1
PSA_DASHBOARD_PORT ?= 8501
dashboard: setup
	$(BIN)/streamlit run psa_pipeline/dashboard/app.py --server.address $(PSA_DASHBOARD_ADDRESS) \
		--server.port $(PSA_DASHBOARD_PORT) --server.headless true --browser.gatherUsageStats false

sandbox: setup
	$(BIN)/psa-pipeline sandbox serve --host 127.0.0.1 --port 8765

bench: setup
	$(BIN)/python bench/pipeline.py --size small
	$(BIN)/python bench/pipeline.py --size medium

lint: setup
	$(BIN)/ruff check psa_pipeline tests

fmt: setup
	$(BIN)/ruff check --fix psa_pipeline tests
	$(BIN)/ruff format psa_pipeline tests

clean:
	rm -rf data .dagster dbt_project/target dbt_project/logs
