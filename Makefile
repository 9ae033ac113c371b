# Two commands on a fresh machine: `make run` and `make test`.
# Both install what they need through tools/install.sh: once per change of pyproject.toml
# (a stamp in the venv), under a lock, so they may start together.
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8088
DATA_DIR ?= ./data

export VENV

.PHONY: run test install install-test clean

install:
	@tools/install.sh run

install-test:
	@tools/install.sh test

run: install
	$(VENV)/bin/darkroom serve --host $(HOST) --port $(PORT) --data-dir $(DATA_DIR)

# The type checker first (config in pyproject.toml: [tool.mypy]); it is quick, the suite is not.
test: install-test
	$(PY) -m mypy
	$(PY) -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) $(VENV).lock $(DATA_DIR) .pytest_cache .mypy_cache tests/node/node_modules \
		tools/console-assets/node_modules src/darkroom/console/static/vendor
