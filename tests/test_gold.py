"""eval/gold.jsonl stays valid against the sample corpus (eval/check_gold.py, run as a test)."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import ROOT


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


def test_gold_file_is_valid(check_gold: ModuleType) -> None:
    problems, rows = check_gold.validate(check_gold.DEFAULT_GOLD, check_gold.parse_corpus(check_gold.DEFAULT_CORPUS))
    assert problems == []
    assert len(rows) >= check_gold.MIN_TOTAL


def test_main_exits_zero(check_gold: ModuleType, monkeypatch: pytest.MonkeyPatch,
                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "argv", ["check_gold.py"])
    assert check_gold.main() == 0
    assert capsys.readouterr().out.rstrip().endswith("OK")


def test_a_broken_item_is_reported(check_gold: ModuleType, tmp_path: Path) -> None:
    rows = [json.loads(line) for line in check_gold.DEFAULT_GOLD.read_text().splitlines() if line.strip()]
    rows[0]["must_include"] = [["a phrase no abstract contains"]]
    rows[1]["category"] = "gossip"
    gold = tmp_path / "gold.jsonl"
    gold.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    problems, _ = check_gold.validate(gold, check_gold.parse_corpus(check_gold.DEFAULT_CORPUS))
    assert any("a phrase no abstract contains" in p for p in problems)
    assert any("unknown category 'gossip'" in p for p in problems)
