"""Shared fixtures: settings on a temp store, and one store holding the bundled corpus per session."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
import tracemalloc
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

from qa.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
# Exported ONNX models depend only on the model's files: one export serves every test run.
MODEL_CACHE = Path(tempfile.gettempdir()) / "arxiv-qa-test-models"
# The `hash` embedder (qa/ingest/hash_embed.py), for tests that need some embedding but not the model's:
# parsing, limits, locks, store bookkeeping. Never for retrieval or answer quality.
HASH = {"embed_model": "hash"}
HASH_ENV = {"ARXIV_QA_EMBED_MODEL": "hash"}


def make_settings(store: Path, **kw: object) -> Settings:
    """Settings for a test: a temp store, no .env file, no LLM unless given."""
    kw.setdefault("model_cache", MODEL_CACHE)
    return Settings(_env_file=None, store=store, **kw)  # type: ignore[call-arg]


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # No setting of the developer's machine leaks into a test.
    for name in list(os.environ):
        if name.startswith(("ARXIV_QA_", "OPENAI_", "SLACK_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "store")


@pytest.fixture(scope="session")
def corpus_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A store with the bundled corpus ingested once for the whole session (read-only for tests)."""
    from qa.index.writer import Writer
    from qa.ingest import ingest

    s = make_settings(tmp_path_factory.mktemp("corpus") / "store")
    ingest(Writer(s))
    yield s


def run_cli(*args: str, store: Path | None = None, env: dict[str, str] | None = None,
            timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run `arxiv-qa` in a new process, as a user would."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("ARXIV_QA_", "OPENAI_", "SLACK_"))}
    full_env["ARXIV_QA_MODEL_CACHE"] = str(MODEL_CACHE)
    full_env.update(env or {})
    if store is not None:
        full_env["ARXIV_QA_STORE"] = str(store)
    return subprocess.run(
        [sys.executable, "-m", "ui.cli", *args], capture_output=True, text=True, env=full_env, timeout=timeout
    )


def count_with_peak_memory(items: Iterable[object]) -> tuple[int, int]:
    """How many items an iterator yields, and the peak bytes Python allocated meanwhile."""
    tracemalloc.start()
    try:
        count = sum(1 for _ in items)
        return count, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.fixture(scope="module")
def check_gold() -> Iterator[ModuleType]:
    """eval/check_gold.py loaded as a module (eval/ is not a package)."""
    spec = importlib.util.spec_from_file_location("check_gold", ROOT / "eval" / "check_gold.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while being defined
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[spec.name]


CHROMIUM = Path("/usr/bin/chromium")  # Debian's chromium: browsers cannot be downloaded here
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Headless chromium for the browser tests (one per module)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()
