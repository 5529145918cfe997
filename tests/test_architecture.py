"""The layers hold (the import contracts of pyproject.toml), and callers read the store only through its view."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from qa.index.store import Store
from qa.index.writer import Writer

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` with the contracts of `root`/pyproject.toml over the packages in `root`."""
    if not LINT_IMPORTS.exists():
        pytest.fail(f"lint-imports is not installed beside {sys.executable} (pip install -e '.[dev]')")
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", "--config", str(root / "pyproject.toml")],
                          cwd=root, env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=120)


def test_the_import_contracts_hold() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 kept, 0 broken" in result.stdout


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """The packages and the contracts, copied: a test may break them."""
    for package in ("qa", "ui"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__", "corpus"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    return tmp_path


def add_import(module: Path, line: str) -> None:
    future = "from __future__ import annotations\n"
    text = module.read_text()
    assert future in text
    module.write_text(text.replace(future, f"{future}{line}\n", 1))


@pytest.mark.parametrize(("module", "line", "broken"), [
    ("qa/index/retrieve.py", "import ui.web.render", "The library never imports a front-end"),
    ("qa/types.py", "from qa.index.store import Store", "Layers"),  # the Answer importing the storage stack
    ("qa/ingest/pipeline.py", "from qa.index.writer import Writer", "Layers"),  # ingest reaching up to the index
    ("ui/slack/format.py", "from ui.web import render", "The front-ends are independent"),
])
def test_a_layering_break_fails_the_contracts(copy: Path, module: str, line: str, broken: str) -> None:
    add_import(copy / module, line)
    result = lint_imports(copy)
    assert result.returncode != 0
    assert broken in result.stdout.split("Broken contracts", 1)[-1], result.stdout


def test_the_store_view_exposes_no_parts() -> None:
    """Answering gets papers, searches and embeddings from `Store`; its catalog, model and indexes stay inside."""
    public = {name for cls in (Store, Writer) for name in dir(cls) if not name.startswith("_")}
    parts = {"catalog", "embedder", "bm25", "collection", "client", "chroma"}
    assert not public & parts
    assert {"paper", "by_id", "lexical_search", "dense_search", "embed_query", "chunks", "stats"} <= public


def test_no_caller_reaches_past_the_store() -> None:
    """Only the store and its writer touch the parts they hold (`_catalog`, `_chroma`, `_embedder`, `_bm25`)."""
    owners = {ROOT / "qa/index/store.py", ROOT / "qa/index/writer.py"}
    reach = re.compile(r"\b(store|writer|view)\.(_catalog|_chroma|_embedder|_bm25)\b")
    files = [path for folder in ("qa", "ui") for path in sorted((ROOT / folder).rglob("*.py"))
             if path not in owners]
    found = [f"{path.relative_to(ROOT)}:{n}" for path in files
             for n, line in enumerate(path.read_text().splitlines(), 1) if reach.search(line)]
    assert found == []
