"""The answerer's constants come from eval/calibrate.py on the dev split: the code uses what its last run
found, and the search itself keeps ties and finds the best setting of each constant."""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path

import calibrate  # eval/calibrate.py (eval/ is on the test path)
import pytest

from qa.answer.extractive import PARAMS, Params
from tests.conftest import MODEL_CACHE

ROOT = Path(__file__).resolve().parent.parent


def test_the_code_uses_the_constants_the_calibration_found() -> None:
    record = json.loads((ROOT / "eval" / "calibration.json").read_text())
    assert record["params"] == asdict(PARAMS)
    assert record["unanswerable_refused"] <= record["unanswerable"]
    assert record["objective"] == record["answerable_right"] + record["refusal_weight"] * record["unanswerable_refused"]


def test_calibration_reads_the_dev_split_only() -> None:
    items = calibrate.dev_items(ROOT / "eval")
    dev = [json.loads(line) for line in (ROOT / "eval" / "gold.jsonl").read_text().splitlines() if line.strip()]
    test = {json.loads(line)["question"] for line in (ROOT / "eval" / "test.jsonl").read_text().splitlines()
            if line.strip()}
    assert len(items) == 3 * len(dev)  # each question and its two rewordings
    assert not {i.question for i in items} & test


class Peak(calibrate.Scorer):
    """A score with one best setting, flat around the current support_dense (a tie)."""

    def __init__(self) -> None:
        self.calls = 0

    def score(self, params: Params) -> tuple[int, int, int]:
        self.calls += 1
        best = -abs(params.attribute_cover - 0.6) * 10 - abs(params.runner_up - 0.9) * 10
        return round(100 + best), 0, 0


def test_coordinate_ascent_finds_the_best_setting_and_keeps_ties() -> None:
    start = replace(PARAMS, attribute_cover=0.3, runner_up=0.75)
    found, score = calibrate.calibrate(Peak(), start)
    assert (found.attribute_cover, found.runner_up) == (0.6, 0.9)
    assert found.support_dense == start.support_dense and found.w_dense == start.w_dense  # ties kept
    assert score[0] == 100
    again, _ = calibrate.calibrate(Peak(), found)
    assert again == found  # a rerun from the result reproduces it


class Honest(calibrate.Scorer):
    """The highest objective refuses too few of 20 unanswerable questions; a lower one refuses enough."""

    unanswerable = 20

    def score(self, params: Params) -> tuple[int, int, int]:
        refused = 20 if params.focus_dense == 0.7 else 17  # 0.7 refuses them all, at a cost in answers
        right = 50 if params.focus_dense == 0.7 else 60
        return right + calibrate.REFUSAL_WEIGHT * refused, right, refused


def test_the_refusal_floor_comes_before_the_objective() -> None:
    found, score = calibrate.calibrate(Honest(), replace(PARAMS, focus_dense=0.55))
    assert found.focus_dense == 0.7 and score == (90, 50, 20)  # 90 < 94, but 17/20 is short of 0.95


class Short(calibrate.Scorer):
    """No setting reaches the floor (19 of 20): one more refusal would cost ten right answers."""

    unanswerable = 20

    def score(self, params: Params) -> tuple[int, int, int]:
        refused = 16 if params.support_dense == 0.45 else 15
        right = 50 if params.support_dense == 0.45 else 60
        return right + calibrate.REFUSAL_WEIGHT * refused, right, refused


def test_short_of_the_floor_the_objective_decides() -> None:
    found, score = calibrate.calibrate(Short(), replace(PARAMS, support_dense=0.35))
    assert found.support_dense == 0.35 and score == (90, 60, 15)  # 82 for one refusal more: not worth it


@pytest.mark.slow
def test_a_run_without_a_store_fills_a_fresh_one_and_records_what_it_found(monkeypatch: pytest.MonkeyPatch,
                                                                           tmp_path: Path) -> None:
    """The whole script from its command line (the search itself replaced by a fixed answer): the fresh
    store is filled with the bundled corpus through the writer, and the record is written."""
    seen: dict[str, int] = {}

    class Counted(calibrate.Scorer):
        def __init__(self, engine: calibrate.QA, items: list[calibrate.Item]) -> None:
            seen["papers"] = int(engine.store.stats()["papers"])  # type: ignore[call-overload]
            self.unanswerable = sum(not i.answerable for i in items)

        def score(self, params: Params) -> tuple[int, int, int]:
            return 0, 0, 0

    monkeypatch.setattr(calibrate, "Bench", Counted)
    monkeypatch.setattr(calibrate, "calibrate", lambda bench, start=PARAMS: (PARAMS, (7, 5, 1)))
    monkeypatch.setattr(calibrate, "RECORD", tmp_path / "calibration.json")
    monkeypatch.setenv("ARXIV_QA_MODEL_CACHE", str(MODEL_CACHE))
    assert calibrate.main([]) == 0
    assert seen["papers"] == 27  # the bundled corpus
    record = json.loads((tmp_path / "calibration.json").read_text())
    assert record["params"] == asdict(PARAMS) and record["objective"] == 7
