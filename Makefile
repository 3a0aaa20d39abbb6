# One entry point for people and CI: `make test` installs what it needs, then runs every test.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
SUDO   := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: help install system-deps js-deps runtime test lint bench serve examples-record clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

install: $(VENV)/.installed  ## the virtualenv with localaik and its test dependencies

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

system-deps:  ## Debian packages: poppler-utils and fonts (PDF pages), the llama-server build tools, chromium and chromedriver (the inspector's browser tests), Go (the Go helper's tests)
	@missing=""; \
	command -v pdftoppm >/dev/null 2>&1 || missing="$$missing poppler-utils"; \
	[ -d /usr/share/fonts/truetype/liberation ] || missing="$$missing fonts-liberation"; \
	command -v cmake >/dev/null 2>&1 || missing="$$missing cmake"; \
	command -v g++ >/dev/null 2>&1 || missing="$$missing g++"; \
	command -v ninja >/dev/null 2>&1 || missing="$$missing ninja-build"; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	[ -x /usr/bin/chromedriver ] || missing="$$missing chromium-driver"; \
	command -v go >/dev/null 2>&1 || missing="$$missing golang-go"; \
	if [ -n "$$missing" ]; then \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

runtime: install system-deps  ## build llama-server and fetch the default model (cached)
	$(VENV)/bin/localaik runtime install

js-deps: tests/js/node_modules/.installed tests/js-helpers/node_modules/.installed examples/js/node_modules/.installed  ## the JavaScript SDKs used by the tests and the examples; vitest and jest for the JS helper's tests

tests/js/node_modules/.installed: tests/js/package-lock.json
	npm ci --prefix tests/js --no-audit --no-fund --loglevel=error
	touch $@

tests/js-helpers/node_modules/.installed: tests/js-helpers/package-lock.json js/package.json
	npm ci --prefix tests/js-helpers --no-audit --no-fund --loglevel=error
	touch $@

examples/js/node_modules/.installed: examples/js/package-lock.json
	npm ci --prefix examples/js --no-audit --no-fund --loglevel=error
	touch $@

test: install system-deps js-deps runtime lint  ## install everything needed, check lint and types, then run all tests
	$(PY) -m pytest

lint: install  ## ruff (lint and format check) on the code, tests and benchmarks; mypy --strict on the code
	$(VENV)/bin/ruff check localaik tests bench
	$(VENV)/bin/ruff format --check localaik tests bench
	$(VENV)/bin/mypy --strict localaik

bench: install runtime  ## the benchmarks (installs wrk, a C compiler, Go and the bench extras); BENCH=name runs one
	@missing=""; \
	command -v wrk >/dev/null 2>&1 || missing="$$missing wrk"; \
	command -v cc >/dev/null 2>&1 || missing="$$missing build-essential"; \
	command -v go >/dev/null 2>&1 || missing="$$missing golang-go"; \
	if [ -n "$$missing" ]; then \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
	$(PY) -m pip install --quiet -e '.[test,bench]'
	$(PY) -m bench.run $(BENCH)

serve: install  ## serve on :8090 with the bundled model (UPSTREAM=http://host:port/v1 for another)
	$(if $(UPSTREAM),,$(MAKE) runtime)
	$(VENV)/bin/localaik serve $(if $(UPSTREAM),--upstream $(UPSTREAM))

examples-record: install runtime js-deps  ## re-record cassettes/examples.db from the bundled model
	bash examples/record.sh

clean:  ## remove the virtualenv and caches
	rm -rf $(VENV) tests/js/node_modules tests/js-helpers/node_modules examples/js/node_modules .pytest_cache
