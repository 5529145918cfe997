# The two commands a newcomer needs: `make serve` and `make test`. Each creates .venv when missing.
# `make test-fast` is the inner loop while changing code: the tests not marked slow, browser or bench.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: install serve test test-fast lint eval bench bench-scale screenshot clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

serve: install
	$(BIN)/arxiv-qa serve

lint: install
	$(BIN)/ruff check qa ui tests eval
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

test: install lint
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq chromium; } \
		|| echo "make: no chromium and cannot install it (not root?): the browser test will be skipped"
	$(BIN)/python -m pytest -q

test-fast: install
	$(BIN)/python -m pytest -q -m "not slow and not browser and not bench"

eval: install
	$(BIN)/arxiv-qa eval

bench: install
	$(BIN)/python eval/bench.py

# One store grown to SCALE_PAPERS synthetic papers and measured (hours and tens of GB; not in CI):
# BM25 build, warm latency and cold `ask` with embedded Chroma and a Chroma server, 1,000 papers added.
SCALE_PAPERS ?= 1000000
SCALE_WORK ?= /tmp/arxiv-qa-scale
bench-scale: install
	$(BIN)/python eval/scale.py all --work $(SCALE_WORK) --papers $(SCALE_PAPERS)

screenshot: install
	$(BIN)/python -m pytest -q tests/test_ui_browser.py -k arxiv_links
	$(BIN)/python -m pytest -q tests/test_ui_browser_daily.py -k "wcag or phone"
	cp tests/artifacts/screenshot-chat.png tests/artifacts/screenshot-light.png tests/artifacts/screenshot-dark.png \
		tests/artifacts/screenshot-phone.png docs/

clean:
	rm -rf $(VENV) .arxiv-qa .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
