# wirehouse: `make run` ingests seeds/ into warehouse/, `make test` runs the suite.
# Both create .venv and install the project on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

# Quiet and offline: Prefect keeps its database under the project; no telemetry.
export PREFECT_HOME ?= $(CURDIR)/.prefect
export DO_NOT_TRACK := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS := 90
export GX_ANALYTICS_ENABLED := false

.PHONY: run test deep lint clean ui bench eval

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $@

run: $(STAMP)
	$(BIN)/wirehouse run --source seeds --warehouse warehouse

# The Prefect UI on loopback, its database under .prefect/: the background server runs report to.
ui: $(STAMP)
	$(BIN)/wirehouse server --background

# Test files spread over up to 4 processes (a file stays in one: its module fixtures are built once).
test: $(STAMP)
	$(BIN)/python -m pytest -m "not deep" -n auto --maxprocesses 4 --dist loadfile --durations=25

# The slow runs: fault matrices, PostgreSQL, S3, Dask, the browser, and the stateful model at depth.
# .ci/run runs them after `make test`.
deep: $(STAMP)
	$(BIN)/python -m pytest -m deep --durations=25

# The benchmark: wirehouse run vs the raw-langdetect ceiling (N=20000 by default; BENCH_ARGS="--n 2000").
bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

# Enrichment quality per labelled set (../shared/corpora or WIREHOUSE_CORPUS=…, and tests/accuracy/extractor_pages),
# wirehouse beside trafilatura/htmldate alone and raw langdetect; then the per-article cost.
eval: $(STAMP)
	$(BIN)/python -m tests.accuracy.evaluate
	$(BIN)/python -m tests.accuracy.speed

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf warehouse/data warehouse/quarantine warehouse/catalog.sqlite* warehouse/attach.sql warehouse/.extensions warehouse/.wirehouse.lock warehouse/docs warehouse/gx .prefect
