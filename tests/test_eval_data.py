"""eval/conversations.jsonl and eval/paraphrases.jsonl stay valid (the validators of eval/check_gold.py),
and the validators catch a broken file."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest


@pytest.fixture(scope="module")
def papers(check_gold: ModuleType) -> Any:
    return check_gold.parse_corpus(check_gold.DEFAULT_CORPUS)


def _read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_conversations_are_valid(check_gold: ModuleType, papers: Any) -> None:
    assert check_gold.check_conversations(check_gold.DEFAULT_CONVERSATIONS, papers) == []
    rows = _read(check_gold.DEFAULT_CONVERSATIONS)
    splits = [r["split"] for r in rows]
    assert splits.count("dev") >= 12 and splits.count("test") >= 24
    assert any(not t["answerable"] for r in rows for t in r["turns"][:-1])  # a follow-up after a refusal


def test_paraphrases_are_valid(check_gold: ModuleType) -> None:
    assert check_gold.check_paraphrases(check_gold.DEFAULT_PARAPHRASES, check_gold.DEFAULT_GOLD) == []
    gold_ids = [r["id"] for r in _read(check_gold.DEFAULT_GOLD)]
    assert [r["id"] for r in _read(check_gold.DEFAULT_PARAPHRASES)] == gold_ids


@pytest.mark.slow
def test_main_summarises_both_files(check_gold: ModuleType, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "argv", ["check_gold.py"])
    assert check_gold.main() == 0
    out = capsys.readouterr().out
    assert " conversations (dev=" in out
    assert " paraphrased questions, " in out
    assert out.rstrip().endswith("OK")


def test_broken_conversations_are_reported(check_gold: ModuleType, papers: Any, tmp_path: Path) -> None:
    rows = _read(check_gold.DEFAULT_CONVERSATIONS)
    first = next(i for i, r in enumerate(rows) if r["turns"][0]["answerable"])
    rows[first]["turns"][0]["must_include"] = [["a phrase no abstract contains"]]
    rows[1]["split"] = "train"
    rows[2]["turns"] = rows[2]["turns"][:1]
    rows[3]["id"] = rows[4]["id"]
    refused = next(t for r in rows[5:] for t in r["turns"] if not t["answerable"])
    refused["gold_keys"] = ["arXiv:2505.09388"]
    latex = next(t for r in rows[6:] for t in r["turns"] if t["answerable"])
    latex["must_include"] = [["\\times"]]
    problems = check_gold.check_conversations(_write(tmp_path / "conversations.jsonl", rows), papers)
    assert any("a phrase no abstract contains" in p for p in problems)
    assert any("split 'train'" in p for p in problems)
    assert any("needs 2-3 turns" in p for p in problems)
    assert any("duplicate id" in p for p in problems)
    assert any("an unanswerable turn has must_include [] and gold_keys []" in p for p in problems)
    assert any("LaTeX" in p for p in problems)


def test_too_few_conversations_are_reported(check_gold: ModuleType, papers: Any, tmp_path: Path) -> None:
    rows = [r for r in _read(check_gold.DEFAULT_CONVERSATIONS) if r["split"] == "dev"]
    problems = check_gold.check_conversations(_write(tmp_path / "conversations.jsonl", rows), papers)
    assert any("0 test conversations, need at least 20" in p for p in problems)


def test_broken_paraphrases_are_reported(check_gold: ModuleType, tmp_path: Path) -> None:
    gold = _read(check_gold.DEFAULT_GOLD)
    rows = _read(check_gold.DEFAULT_PARAPHRASES)
    by_id = {r["id"]: r for r in rows}
    by_id["q001"]["rewordings"][0] = gold[0]["question"].upper()  # the original, only in capitals
    by_id["q002"]["rewordings"].append("A third rewording?")
    with_id = next(g for g in gold if g["category"] == "by_id")
    by_id[with_id["id"]]["rewordings"][1] = "What does that paper find?"
    dated = next(g for g in gold if g["category"] == "date_scoped")
    by_id[dated["id"]]["rewordings"][0] = "Which recent papers are about this?"
    rows = [r for r in rows if r["id"] != "q003"]
    problems = check_gold.check_paraphrases(_write(tmp_path / "paraphrases.jsonl", rows), gold)
    assert any("q001" in p and "equals the original" in p for p in problems)
    assert any("q002" in p and "must be 2 non-empty strings" in p for p in problems)
    assert any(with_id["id"] in p and "arXiv IDs" in p for p in problems)
    assert any(dated["id"] in p and "month and year" in p for p in problems)
    assert any("no rewordings of q003" in p for p in problems)
