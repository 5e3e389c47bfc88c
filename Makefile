# The two quick-start commands: `make demo` and `make test`. Both set up .venv on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

# OCR (thresher.media) needs Debian's Tesseract and language packs: installed here when we are root.
MEDIA_APT = tesseract-ocr tesseract-ocr-eng tesseract-ocr-osd tesseract-ocr-fra tesseract-ocr-deu tesseract-ocr-spa tesseract-ocr-jpn tesseract-ocr-jpn-vert fonts-ipafont-mincho
TESSDATA = /usr/share/tesseract-ocr/5/tessdata

$(BIN)/.installed: pyproject.toml
	@test -f $(TESSDATA)/osd.traineddata -a -f $(TESSDATA)/jpn_vert.traineddata -a -d /usr/share/fonts/opentype/ipafont-mincho || \
	  { [ "$$(id -u)" = 0 ] && export DEBIAN_FRONTEND=noninteractive && apt-get update -qq && apt-get install -y -qq $(MEDIA_APT) >/dev/null; } || \
	  echo "note: OCR needs Debian's packages: sudo apt-get install $(MEDIA_APT)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0    # first: this pin is the local CPU build (any other: CUDA, GBs)
	$(BIN)/python -m pip install -q -e '.[dev,train]'
	rm -rf src/thresher.egg-info    # the editable build's leftover (the install's metadata is its dist-info in .venv)
	$(BIN)/thresher warmup    # compile every numba kernel once into the cache (a first pipeline then runs warm)
	@command -v bwrap >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq bubblewrap >/dev/null; } \
	  || echo "warning: bubblewrap (bwrap) is missing: thresher eval --code needs it (apt-get install bubblewrap)"
	touch $@

.PHONY: setup demo test lint
setup: $(BIN)/.installed

demo: setup
	$(BIN)/thresher demo thresher-demo

test: setup
	$(BIN)/python -m pytest

# Lint for real bugs (ruff: pyflakes F + syntax E9, no formatter) and type-check the public API (mypy).
# Config in pyproject.toml ([tool.ruff], [tool.mypy]).
lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy
