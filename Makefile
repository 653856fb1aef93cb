# `make` is the only entry point; CI runs these same targets (.ci/run).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

# Offline-first defaults: no telemetry, no usage statistics, working state under .driftwarden/.
export MLFLOW_DISABLE_TELEMETRY ?= true
export DO_NOT_TRACK ?= 1
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS ?= 90
export PREFECT_HOME ?= $(CURDIR)/.driftwarden/prefect
export STREAMLIT_BROWSER_GATHER_USAGE_STATS ?= false
export NML_DISABLE_USAGE_LOGGING ?= 1

.PHONY: help install browser demo dashboard format lint test fuzz bench bench-drift bench-serve bench-monitor bench-retrain bench-dashboard bench-explain bench-faults clean

help:
	@echo "make install   create $(VENV) and install driftwarden with its dev tools"
	@echo "make demo      train, serve and send live drifting traffic: the whole loop (Ctrl-C stops)"
	@echo "make dashboard the live dashboard against the API of driftwarden.toml (http://127.0.0.1:8501)"
	@echo "make lint      ruff, ruff format --check, mypy --strict, import-linter layer contracts"
	@echo "make test      the whole test suite with branch coverage (fails under 90%)"
	@echo "make fuzz      a long property-based fuzzing run of every API operation (FUZZ_EXAMPLES, FUZZ_SEED)"
	@echo "make bench     the seven benchmarks below, one after the other"
	@echo "make bench-drift  benchmarks/drift.py: drift verdicts against Evidently and a naive scipy loop"
	@echo "make bench-serve  benchmarks/serve.py: driftwarden serve against mlflow models serve"
	@echo "make bench-monitor  benchmarks/monitor.py: one monitor run over 1M logged predictions (SQLite, PostgreSQL)"
	@echo "make bench-retrain  benchmarks/retrain.py: one full retraining on 100k labelled rows against the same job by hand"
	@echo "make bench-dashboard  benchmarks/dashboard.py: each dashboard page's charts drawn in Chromium, 30 days at 2,000 a day"
	@echo "make bench-explain  benchmarks/explain.py: adversarial validation and explanation drift on 10k-300k-row windows"
	@echo "make bench-faults  benchmarks/faults.py: kill -9 of a server, PostgreSQL stopped, the spool's quota filled, under load; every prediction reconciled"

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,bench]'
	@touch $@

# The dashboard's browser test and benchmark drive Debian's Chromium (/usr/bin/chromium) through
# Playwright's Python driver; no browser is ever downloaded. Installed here when it is missing and
# apt-get can run; otherwise the browser test is skipped with a message saying so.
# DRIFTWARDEN_CHROMIUM names another Chromium-based browser (GitHub's runners: google-chrome).
browser:
	@if [ ! -x "$${DRIFTWARDEN_CHROMIUM:-/usr/bin/chromium}" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "make: installing Debian's chromium for the dashboard's browser test"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null \
	      || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; } \
	      || echo "make: could not install chromium; the browser test will be skipped"; \
	  else \
	    echo "make: no /usr/bin/chromium and no root apt-get; the browser test will be skipped"; \
	  fi; \
	fi

# DEMO_ARGS="--port 8001 --scenario sudden" passes options to `driftwarden demo`.
demo: install
	$(BIN)/driftwarden demo $(DEMO_ARGS)

dashboard: install
	$(BIN)/driftwarden dashboard $(DASHBOARD_ARGS)

format: install
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

# pytest exits 5 when it collected no test: that is a failure here, never a pass.
# pytest-xdist workers: one more than the cores, since many tests wait on servers they started
# (the API, Prefect, MLflow, Chromium) and a waiting worker leaves its core idle.
# PYTEST_ARGS="-n 0" runs in one process.
# Work stealing: a worker that runs out takes half of the queue of the busiest one, so a few
# minute-long tests that land together do not leave the others idle at the end of the run.
TEST_WORKERS ?= $(shell echo $$(( $$(nproc 2>/dev/null || echo 1) + 1 )))
test: install browser
	@rc=0; $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal --cov --cov-report=term $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; \
	exit $$rc

# Property-based fuzzing of the published OpenAPI document (tests/serving/test_fuzz_api.py), much
# longer than the suite's run: FUZZ_EXAMPLES per operation and generation mode, a new seed each
# run unless FUZZ_SEED is given (printed, so that a failure can be replayed).
FUZZ_EXAMPLES ?= 500
FUZZ_SEED ?= $(shell date +%s)
fuzz: install
	@echo "make fuzz: seed $(FUZZ_SEED), $(FUZZ_EXAMPLES) examples per operation"
	DRIFTWARDEN_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) DRIFTWARDEN_FUZZ_SEED=$(FUZZ_SEED) \
	  $(BIN)/python -m pytest tests/serving/test_fuzz_api.py -p no:cacheprovider $(PYTEST_ARGS)

bench: bench-drift bench-serve bench-monitor bench-retrain bench-dashboard bench-explain bench-faults

bench-drift: install
	$(BIN)/python benchmarks/drift.py $(BENCH_ARGS)

bench-serve: install
	$(BIN)/python benchmarks/serve.py $(BENCH_ARGS)

bench-faults: install
	$(BIN)/python benchmarks/faults.py $(BENCH_ARGS)

bench-monitor: install
	$(BIN)/python benchmarks/monitor.py $(BENCH_ARGS)

bench-retrain: install
	$(BIN)/python benchmarks/retrain.py $(BENCH_ARGS)

bench-dashboard: install browser
	$(BIN)/python benchmarks/dashboard.py $(BENCH_ARGS)

bench-explain: install
	$(BIN)/python benchmarks/explain.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis .coverage htmlcov src/*.egg-info
