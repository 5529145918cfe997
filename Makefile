# The two commands a newcomer needs: `make serve` and `make test`. Each creates .venv when missing.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: install serve test lint eval bench clean

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

test: install lint
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) .arxiv-qa .pytest_cache .mypy_cache .ruff_cache
