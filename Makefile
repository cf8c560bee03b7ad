# oncoreg: every set-up step lives here, so that `make demo` and `make test` work on a fresh machine.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EXTRAS ?= dev
# Two workers by default (the reference machine has 2 cores); override with PYTEST_ARGS="...".
PYTEST_ARGS ?= -n 2

.PHONY: install system-deps test test-fast screenshots lint format demo bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[$(EXTRAS)]'
	touch $@

install: $(STAMP)

# Debian packages the tests need (Chromium for browser tests, R peers for conformance tests); a no-op
# when they are present.
system-deps:
	scripts/system-deps

# The whole suite, on SQLite and on a PostgreSQL server started (and stopped) for the run.
# pytest's exit code passes through unchanged, so "no tests collected" (5) fails the target.
test: install system-deps
	ONCOREG_REQUIRE_POSTGRES=1 scripts/with-postgres $(BIN)/pytest $(PYTEST_ARGS)

# SQLite only, for quick local iterations.
test-fast: install
	$(BIN)/pytest -m "not postgres and not slow" $(PYTEST_ARGS)

# Refresh docs/screenshots/ from the browser tests (they write to a scratch folder otherwise).
screenshots: install system-deps
	ONCOREG_SCREENSHOTS=$(CURDIR)/docs/screenshots $(BIN)/pytest -p no:xdist tests/web/test_browser*.py

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy src/oncoreg

format: install
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

demo: install
	$(BIN)/oncoreg demo

# Every benchmark with its defaults (long: the scale-1.0 runs take tens of minutes); one at a time:
#   make bench BENCHMARKS=benchmarks/survival_vs_relsurv.py
BENCHMARKS ?= $(wildcard benchmarks/*.py)
bench: install system-deps
	@for script in $(BENCHMARKS); do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
