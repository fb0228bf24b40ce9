# orderdesk — every target bootstraps what it needs: a pinned uv in .bootstrap/ (unless uv is
# already on PATH), then a virtual environment in .venv/ synced from the committed uv.lock.

PYTHON ?= python3
UV_VERSION := 0.13.8
BOOTSTRAP := .bootstrap
UV := $(shell command -v uv 2>/dev/null || echo $(BOOTSTRAP)/bin/uv)
VENV := .venv
RUN := $(UV) run --frozen --no-sync
STAMP := $(VENV)/.synced
# demo and sim need only the desk's own dependencies, not the dev group (pytest, playwright,
# mypy…: most of a full environment); --inexact leaves a developer's dev tools installed.
RUNTIME_STAMP := $(VENV)/.synced-runtime

.PHONY: all demo test lint fmt bench sim clean help

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(BOOTSTRAP)/bin/uv:
	$(PYTHON) -m venv $(BOOTSTRAP)
	$(BOOTSTRAP)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# The full environment holds the runtime one: syncing it stamps both. It also takes the optional
# telegram extra (aiogram), so the bot's tests run; demo and sim leave it out.
$(STAMP): uv.lock pyproject.toml | $(UV)
	$(UV) sync --frozen --extra telegram
	@touch $(STAMP) $(RUNTIME_STAMP)

$(RUNTIME_STAMP): uv.lock pyproject.toml | $(UV)
	$(UV) sync --frozen --no-dev --inexact
	@touch $(RUNTIME_STAMP)

demo: $(RUNTIME_STAMP)  ## simulator + order desk + a sample strategy; prints the dashboard URL
	$(RUN) orderdesk demo

sim: $(RUNTIME_STAMP)  ## the Kite-compatible simulator on 127.0.0.1:8765
	$(RUN) orderdesk sim

# One pytest worker per core and one more (pytest-xdist): most of the suite waits on the
# daemons and simulators it starts, so on CI's 2 cores two workers took it from 603 s to 369 s,
# and, the suite grown, three took it from 615 s to 530 s (2026-12-07, same tree, one run each).
TEST_WORKERS := $(shell python3 -c "import os; print((os.cpu_count() or 1) + 1)")
test: $(STAMP)  ## the whole test suite, a worker per core and one more
	$(RUN) scripts/ensure-test-deps.sh
	$(RUN) pytest -q -n $(TEST_WORKERS)

lint: $(STAMP)  ## ruff (lint + format check) and mypy --strict on src/
	$(RUN) ruff check src tests bench examples
	$(RUN) ruff format --check src tests bench examples
	$(RUN) mypy

fmt: $(STAMP)  ## apply ruff's fixes and formatting
	$(RUN) ruff check --fix src tests bench examples
	$(RUN) ruff format src tests bench examples

bench: $(STAMP)  ## run the benchmarks and rewrite BENCHMARKS.md (ARGS="store ticks" for some)
	$(RUN) python -m bench $(ARGS)

clean:  ## remove the environments
	rm -rf $(VENV) $(BOOTSTRAP)
