"""eval/set_thresholds.py fed a recorded report: measured - margin, floors kept, lines that cannot fail dropped."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from qa.evaluation.report import gate
from tests.conftest import ROOT

SCRIPT = ROOT / "eval" / "set_thresholds.py"


def retrieval(hit1: float, hit5: float) -> dict[str, dict[str, float]]:
    same = {"hit@1": hit1, "hit@5": hit5, "recall@5": 0.9, "mrr": 0.8, "ndcg@10": 0.85}
    return {"bm25": dict(same), "dense": dict(same), "hybrid": dict(same), "baseline": dict(same, mrr=0.3)}


def answers(refusal_recall: float) -> dict[str, dict[str, float]]:
    return {"extractive": {"must_include": 0.8125, "token_f1": 0.3, "citation_precision": 0.9, "citation_recall": 0.95,
                           "fabricated_citations": 0, "refusal_precision": 0.75, "refusal_recall": refusal_recall,
                           "latency_p50_s": 0.05, "latency_p95_s": 0.4}}


CONVERSATIONS = {"extractive": {"conversations": 4, "turns": 10, "follow_ups": 6, "unanswerable_turns": 2,
                                "turn_accuracy": 0.7, "conversation_accuracy": 0.25, "follow_up_accuracy": 0.5,
                                "refusal_recall": 0.5}}
REPORT: dict[str, Any] = {"split": "all", "splits": {
    # dev: 16 answerable, 4 unanswerable (3 refused, of 4 refusals); hybrid hit@5 below its floor
    "dev": {"split": "dev", "questions": 20, "answerable": 16, "retrieval": retrieval(0.75, 0.9),
            "answers": answers(0.75), "conversations": CONVERSATIONS,
            "paraphrases": {"extractive": {"questions": 20, "rewordings": 40, "consistent": 0.6,
                                           "right_original": 0.7, "right_reworded": 0.65}},
            "per_question": []},
    # test: 50 answerable, 10 unanswerable
    "test": {"split": "test", "questions": 60, "answerable": 50, "retrieval": retrieval(0.8, 0.98),
             "answers": answers(0.95), "conversations": CONVERSATIONS},
}}
SPREAD = {"runs": 5, "date": "2026-01-01", "max_spread": 0.02,
          "spread": {"dev": {"hybrid": {"hit@1": 0.02, "hit@5": 0.0}, "dense": {"mrr": 0.0}},
                     "test": {"dense": {"mrr": 0.01}}}}


@pytest.fixture
def written(tmp_path: Path) -> tuple[dict[str, Any], str, str]:
    (tmp_path / "report.json").write_text(json.dumps(REPORT))
    (tmp_path / "spread.json").write_text(json.dumps(SPREAD))
    out = tmp_path / "thresholds.toml"
    done = subprocess.run([sys.executable, str(SCRIPT), "--from", str(tmp_path / "report.json"),
                           "--spread", str(tmp_path / "spread.json"), "--out", str(out)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    return tomllib.loads(text), text, done.stderr


def test_thresholds_are_measured_minus_margin(written: tuple[dict[str, Any], str, str]) -> None:
    t = written[0]
    dev, test = t["dev"], t["test"]
    # retrieval: 1/answerable + the figure's own spread, rounded down to 0.001
    assert dev["retrieval"]["hybrid"]["hit@1"] == 0.667  # 0.75 - 1/16 - 0.02
    assert dev["retrieval"]["bm25"]["mrr"] == 0.737  # 0.8 - 1/16
    assert test["retrieval"]["dense"]["mrr"] == 0.77  # 0.8 - 1/50 - 0.01
    assert test["retrieval"]["hybrid"]["hit@5"] == 0.96  # 0.98 - 1/50
    # answers: one question + the split's largest retrieval spread
    assert dev["answers"]["extractive"]["must_include"] == 0.73  # 0.8125 - 1/16 - 0.02
    assert dev["answers"]["extractive"]["refusal_precision"] == 0.48  # 0.75 - 1/4 refusals - 0.02
    # the held-out split is gated at measured - margin, not lifted to the dev floor (it is never tuned on)
    assert test["answers"]["extractive"]["refusal_recall"] == 0.84  # 0.95 - 1/10 - 0.01
    assert test["answers"]["extractive"]["token_f1"] == 0.27  # 0.3 - 1/50 - 0.01
    # conversations and rewordings: 1/turns, 1/follow-ups, 1/rewordings ...
    assert dev["conversations"]["extractive"]["turn_accuracy"] == 0.58  # 0.7 - 1/10 - 0.02
    assert test["conversations"]["extractive"]["follow_up_accuracy"] == 0.323  # 0.5 - 1/6 - 0.01
    assert dev["paraphrases"]["extractive"]["right_reworded"] == 0.605  # 0.65 - 1/40 - 0.02
    assert "paraphrases" not in test and "baseline" not in dev["retrieval"]


def test_floors_are_kept(written: tuple[dict[str, Any], str, str]) -> None:
    t, text, stderr = written
    for split in ("dev", "test"):
        extractive = t[split]["answers"]["extractive"]
        assert t[split]["retrieval"]["hybrid"]["hit@5"] >= 0.95
        assert extractive["max"] == {"fabricated_citations": 0, "latency_p50_s": 1.0, "latency_p95_s": 3.0}
    assert t["dev"]["answers"]["extractive"]["refusal_recall"] >= 0.9
    assert t["dev"]["retrieval"]["hybrid"]["hit@5"] == 0.95  # measured 0.9: the floor, and said so
    assert "dev.retrieval.hybrid.hit@5 measured 0.9 is below the floor 0.95" in stderr
    assert "hit@5 BELOW THE FLOOR 0.95" in text


def test_lines_that_cannot_fail_are_dropped(written: tuple[dict[str, Any], str, str]) -> None:
    conversations = written[0]["dev"]["conversations"]["extractive"]
    assert "conversation_accuracy" not in conversations  # 0.25 - 1/4 conversations - spread <= 0
    assert "refusal_recall" not in conversations  # 0.5 - 1/2 unanswerable turns <= 0
    assert "conversation_accuracy not gated" in written[1]


def test_the_file_explains_itself(written: tuple[dict[str, Any], str, str]) -> None:
    lines = written[1].splitlines()
    assert lines[0].startswith("# ") and any("WRITTEN BY eval/set_thresholds.py" in line for line in lines)
    tables = [n for n, line in enumerate(lines) if line.startswith("[")]
    assert len(tables) == 13  # per split: 3 retrievers, answers, its max, conversations (+ dev: paraphrases)
    assert all(lines[n + 1].startswith("# measured: ") for n in tables)


def test_the_recorded_run_passes_its_own_gate_but_for_the_floors(written: tuple[dict[str, Any], str, str]) -> None:
    assert gate(REPORT, written[0]) == ["dev.retrieval.hybrid.hit@5 = 0.9 < 0.95",
                                        "dev.answers.extractive.refusal_recall = 0.75 < 0.9"]


def test_figures_of_another_machine_lower_the_minimums(tmp_path: Path,
                                                        written: tuple[dict[str, Any], str, str]) -> None:
    """`--also` an earlier thresholds.toml (another CPU): each minimum comes from the lower of the two figures,
    and the file written that way carries the lower figure on, for the next machine."""
    _, first_text, _ = written
    earlier = tmp_path / "earlier.toml"
    earlier.write_text(first_text)
    here = json.loads(json.dumps(REPORT))
    here["splits"]["test"]["answers"]["extractive"]["must_include"] = 0.7  # lower here
    here["splits"]["dev"]["retrieval"]["dense"]["hit@1"] = 0.9  # higher here
    (tmp_path / "here.json").write_text(json.dumps(here))
    out = tmp_path / "both.toml"
    done = subprocess.run([sys.executable, str(SCRIPT), "--from", str(tmp_path / "here.json"), "--also", str(earlier),
                           "--spread", str(tmp_path / "spread.json"), "--out", str(out)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    both = tomllib.loads(out.read_text())
    assert both["test"]["answers"]["extractive"]["must_include"] == 0.67  # 0.7 - 1/50 - spread 0.01
    assert both["dev"]["retrieval"]["dense"]["hit@1"] == 0.687  # the earlier 0.75 - 1/16, not 0.9's
    assert "another machine" in out.read_text() and "# measured: " in out.read_text()
