# MoltNet — every target installs the locked dependencies first (uv sync --locked).
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON_PREFERENCE := only-system
export UV_LINK_MODE := copy
# uv from PATH, else the one `make uv` installs with pip (run as a module: no PATH needed).
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}'

.PHONY: uv
uv: ## Install uv itself (from the package index) when it is missing
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv

.PHONY: install
install: uv ## Install the locked dependencies into .venv
	@$(UV) sync --locked --quiet

.PHONY: run
run: install ## Start embedded Postgres, migrate, launch DBOS and serve on http://$(HOST):$(PORT)
	$(UV) run --locked moltnet serve --host $(HOST) --port $(PORT)

.PHONY: migrate
migrate: install ## Apply the database migrations
	$(UV) run --locked moltnet migrate

.PHONY: format
format: install ## Format the code
	$(UV) run --locked ruff format src tests migrations bench reliability
	$(UV) run --locked ruff check --fix src tests migrations bench reliability

.PHONY: lint
lint: install ## ruff format --check, ruff check, mypy --strict, import-linter layers
	$(UV) run --locked ruff format --check src tests migrations bench reliability
	$(UV) run --locked ruff check src tests migrations bench reliability
	$(UV) run --locked mypy src
	$(UV) run --locked lint-imports

.PHONY: test
test: lint ## Lint, then the whole test suite (exit 5, no tests collected, fails)
	$(UV) run --locked pytest $(PYTEST_ARGS)

.PHONY: e2e
e2e: install ## Only the end-to-end tests (real server over HTTP)
	$(UV) run --locked pytest tests/e2e $(PYTEST_ARGS)

.PHONY: bench
bench: install ## Run the benchmarks; figures go to bench/results/*.json
	@for script in bench/*.py; do echo "== $$script"; $(UV) run --locked python $$script || exit 1; done

.PHONY: reliability
reliability: install ## Full fuzz, load, crash (200 kills), sweep + exposure; writes docs/RELIABILITY.md
	@# Every part runs and the report is written even when one finds a problem; the target
	@# then fails, naming the parts that did.
	@failed=""; \
	$(UV) run --locked pytest tests/reliability/test_authorization_sweep.py tests/reliability/test_response_exposure.py -q || failed="$$failed sweep"; \
	PYTHONPATH=. $(UV) run --locked python -m reliability.fuzz || failed="$$failed fuzz"; \
	PYTHONPATH=. $(UV) run --locked python -m reliability.load || failed="$$failed load"; \
	PYTHONPATH=. $(UV) run --locked python -m reliability.crash --kills 200 || failed="$$failed crash"; \
	MOLTNET_CRASH_KILLS=50 $(UV) run --locked pytest tests/e2e/test_permission_crash.py -q -n 0 --junitxml=docs/reliability/permission_crash.xml || failed="$$failed permission-crash"; \
	PYTHONPATH=. $(UV) run --locked python -m reliability.report || failed="$$failed report"; \
	if [ -n "$$failed" ]; then echo "reliability: failed:$$failed (see docs/RELIABILITY.md)"; exit 1; fi
