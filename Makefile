# The two commands of the README: `make run` (portal with demo data on SQLite) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test install demo serve unit browser lint constraints clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

# Exactly the versions in constraints.txt (what CI tested); re-made when either file changes.
$(VENV)/.installed: pyproject.toml constraints.txt | $(BIN)/activate
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $@

install: $(VENV)/.installed

run: install
	$(BIN)/portal migrate
	$(BIN)/portal demo
	$(BIN)/portal serve --host $(HOST) --port $(PORT) --no-migrate

test: install
	bash scripts/ensure-chromium
	bash scripts/ensure-dovecot
	$(BIN)/python -m pytest $(PYTEST_ARGS)

unit: install
	$(BIN)/python -m pytest tests/unit

lint: install
	PATH="$(abspath $(BIN)):$$PATH" bash scripts/lint

# Re-pin constraints.txt: the newest versions pyproject.toml allows, resolved in a throwaway venv.
constraints:
	rm -rf $(VENV)-pin && $(PYTHON) -m venv $(VENV)-pin
	$(VENV)-pin/bin/python -m pip install --quiet --upgrade pip
	$(VENV)-pin/bin/python -m pip install --quiet -e '.[test]'
	{ sed -n '/^#/p' constraints.txt; $(VENV)-pin/bin/python -m pip freeze --exclude-editable; } > constraints.txt.new
	mv constraints.txt.new constraints.txt && rm -rf $(VENV)-pin

clean:
	rm -rf $(VENV) var .pytest_cache test-artifacts
