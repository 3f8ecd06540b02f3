# The two commands of the README: `make run` (portal with demo data on SQLite) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test install demo serve unit browser clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

run: install
	$(BIN)/portal migrate
	$(BIN)/portal demo
	$(BIN)/portal serve --host $(HOST) --port $(PORT) --no-migrate

test: install
	bash scripts/ensure-chromium
	$(BIN)/python -m pytest $(PYTEST_ARGS)

unit: install
	$(BIN)/python -m pytest tests/unit

clean:
	rm -rf $(VENV) var .pytest_cache test-artifacts
