"""eval/gold.jsonl (dev) and eval/test.jsonl (held-out test) stay valid against the sample corpus
(eval/check_gold.py, run as a test)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import ModuleType

import pytest


def test_gold_file_is_valid(check_gold: ModuleType) -> None:
    problems, rows = check_gold.validate(check_gold.DEFAULT_GOLD, check_gold.parse_corpus(check_gold.DEFAULT_CORPUS))
    assert problems == []
    assert len(rows) >= check_gold.MIN_TOTAL


@pytest.mark.slow
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


def test_test_file_is_valid(check_gold: ModuleType) -> None:
    papers = check_gold.parse_corpus(check_gold.DEFAULT_CORPUS)
    problems, rows = check_gold.validate(check_gold.DEFAULT_TEST, papers)
    assert problems == []
    assert len(rows) >= check_gold.TEST_MIN_TOTAL >= 150
    assert sum(1 for r in rows if r["answerable"] is False) >= check_gold.TEST_MIN_PER_CATEGORY["unanswerable"] >= 50
    assert all(str(r["id"]).startswith("t") for r in rows)


def test_main_exits_zero_on_the_test_file(check_gold: ModuleType, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "argv", ["check_gold.py", "--gold", str(check_gold.DEFAULT_TEST)])
    assert check_gold.main() == 0
    out = capsys.readouterr().out
    assert out.startswith("test split:")
    assert out.rstrip().endswith("OK")


def test_a_broken_test_item_is_reported(check_gold: ModuleType, tmp_path: Path) -> None:
    rows = [json.loads(line) for line in check_gold.DEFAULT_TEST.read_text().splitlines() if line.strip()]
    dev = [json.loads(line) for line in check_gold.DEFAULT_GOLD.read_text().splitlines() if line.strip()]
    answerable = [r for r in rows if r["answerable"]]
    answerable[0]["question"] = dev[0]["question"].rstrip("?") + ", please?"  # a near-copy of a dev question
    answerable[1]["must_include"] = [["5\\times"]]  # LaTeX, even if the abstract has it
    answerable[2]["id"] = "q999"  # a dev id in the test file
    test = tmp_path / "test.jsonl"  # the file name selects the test split
    test.write_text("\n".join(json.dumps(r) for r in rows[:100]) + "\n")
    problems, _ = check_gold.validate(test, check_gold.parse_corpus(check_gold.DEFAULT_CORPUS))
    assert any(f"near-copy of dev question {dev[0]['id']}" in p for p in problems)
    assert any("LaTeX characters" in p for p in problems)
    assert any("'q999' is not like t001" in p for p in problems)
    assert any("need at least 150" in p for p in problems)


def test_splits_are_told_apart_by_file_name(check_gold: ModuleType) -> None:
    assert check_gold.split_for(check_gold.DEFAULT_GOLD) is check_gold.DEV
    assert check_gold.split_for(check_gold.DEFAULT_TEST) is check_gold.TEST
    assert check_gold.jaccard("What is arXiv:2501.01257 about?", "what is arXiv:2501.01257 about") == 1.0


@pytest.mark.slow
def test_a_rewording_that_near_copies_a_test_question_is_reported(check_gold: ModuleType, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Rewordings are tuned on too, so one that repeats a held-out question would leak it into calibration."""
    held_out = json.loads(check_gold.DEFAULT_TEST.read_text().splitlines()[0])["question"]
    rows = [json.loads(line) for line in check_gold.DEFAULT_PARAPHRASES.read_text().splitlines() if line.strip()]
    rows[0]["rewordings"][1] = held_out
    leaked = tmp_path / "paraphrases.jsonl"
    leaked.write_text("".join(json.dumps(r) + "\n" for r in rows))
    gold_rows = [json.loads(line) for line in check_gold.DEFAULT_GOLD.read_text().splitlines() if line.strip()]
    monkeypatch.setattr(check_gold, "DEFAULT_CONVERSATIONS", tmp_path / "none.jsonl")
    assert check_gold.check_extra_files({}, gold_rows, check_gold.DEFAULT_GOLD)[0] == []  # the real file is clean
    monkeypatch.setattr(check_gold, "DEFAULT_PARAPHRASES", leaked)
    problems, _ = check_gold.check_extra_files({}, gold_rows, check_gold.DEFAULT_GOLD)
    assert [p.split(":")[0] for p in problems] == [f"{rows[0]['id']} rewording"]
    assert "near-copy of test question" in problems[0]
