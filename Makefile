# The two quick-start commands: `make demo` and `make test`. Both set up .venv on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0    # first: this pin is the local CPU build (any other: CUDA, GBs)
	$(BIN)/python -m pip install -q -e '.[dev,train]'
	@command -v bwrap >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq bubblewrap >/dev/null; } \
	  || echo "warning: bubblewrap (bwrap) is missing: thresher eval --code needs it (apt-get install bubblewrap)"
	touch $@

.PHONY: setup demo test
setup: $(BIN)/.installed

demo: setup
	$(BIN)/thresher demo thresher-demo

test: setup
	$(BIN)/python -m pytest
