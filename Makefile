# The two commands a newcomer needs: `make serve` and `make test`. Each creates .venv when missing.
# `make test-fast` is the inner loop while changing code: the tests not marked slow, browser or bench.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: install serve test test-fast lint eval bench screenshot clean

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

screenshot: install
	$(BIN)/python -m pytest -q tests/test_ui_browser.py -k arxiv_links
	cp tests/artifacts/screenshot-chat.png docs/screenshot-chat.png

clean:
	rm -rf $(VENV) .arxiv-qa .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
