# The two quick-start commands: `make demo` and `make test`. Both set up .venv on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

.PHONY: setup demo test
setup: $(BIN)/.installed

demo: setup
	$(BIN)/thresher demo thresher-demo

test: setup
	$(BIN)/python -m pytest
