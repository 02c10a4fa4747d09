# Two commands on a fresh machine: `make run` and `make test`. Each installs what it needs.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# What `run` needs (the package) and what `test` adds (its extras): `make run` never waits
# for pytest, mypy or ruff to install.
RUN_STAMP := $(VENV)/.installed-run
STAMP := $(VENV)/.installed
PIP_QUIET := --quiet --quiet --disable-pip-version-check

.PHONY: run test test-deps check lint types clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install $(PIP_QUIET) --upgrade pip

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install $(PIP_QUIET) -e .
	touch $(RUN_STAMP)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install $(PIP_QUIET) -e '.[test]'
	touch $(STAMP) $(RUN_STAMP)

run: $(RUN_STAMP)
	$(BIN)/groundswell run

# tests/ops needs a real Prometheus (and promtool) and docker-compose to validate the compose
# file: Debian's packages, installed only when missing and only as root; otherwise those
# tests skip and say why.
OPS_TOOLS := prometheus promtool docker-compose
test-deps:
	@missing=0; for tool in $(OPS_TOOLS); do command -v $$tool >/dev/null || missing=1; done; \
	if [ $$missing = 0 ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "test-deps: installing Debian's prometheus and docker-compose for tests/ops"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends prometheus docker-compose >/dev/null \
		|| echo "test-deps: apt-get failed; tests/ops will skip what needs them"; \
	else \
		echo "test-deps: $(OPS_TOOLS) missing and not root: tests/ops will skip what needs them"; \
	fi

# The suite on TEST_WORKERS processes (pytest-xdist; worksteal evens out the long replays).
TEST_WORKERS ?= 2
test: $(STAMP) test-deps
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
