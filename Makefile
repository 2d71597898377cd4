# Fideliza — the two commands: `make run` (demo on SQLite) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test test-sqlite test-postgres lint install browsers messages bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

## Serve the product (web + background worker) with the demo business on SQLite.
run: $(STAMP)
	$(BIN)/fideliza run --demo

## The test suite (SQLite; also PostgreSQL when DATABASE_URL points at one), plus lint and types.
test: $(STAMP) browsers
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy src/fideliza
	$(BIN)/fideliza makemigrations --check --dry-run --settings=fideliza.config.settings.test
	$(BIN)/pytest -q $(PYTEST_ARGS)

## Debian's chromium for the browser tests (Playwright cannot download browsers here).
browsers:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null); \
	  else echo "Install Debian's chromium (sudo apt-get install chromium) for the browser tests"; fi; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy src/fideliza

messages: $(STAMP)
	cd src/fideliza && ../../$(BIN)/fideliza makemessages -l es -l en --no-obsolete --ignore "analytics/*" && ../../$(BIN)/fideliza compilemessages

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache
