# The two quick-start commands: `make demo` and `make test`. Both set up .venv on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0    # before .[train]: this pin is the CPU build, others pull CUDA
	$(BIN)/python -m pip install -q -e '.[dev,train]'
	touch $@

.PHONY: setup demo test
setup: $(BIN)/.installed

demo: setup
	$(BIN)/thresher demo thresher-demo

test: setup
	$(BIN)/python -m pytest
