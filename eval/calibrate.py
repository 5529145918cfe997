"""Derive the extractive answerer's constants (`qa.answer.extractive.Params`) from the DEV split only.

The dev split is eval/gold.jsonl and the two rewordings of each of its questions (eval/paraphrases.jsonl).
The test split (eval/test.jsonl) is never read here. Each question is retrieved once; the answer step is
then rerun under each candidate setting, one constant at a time over its grid (coordinate ascent from
the current constants, until a pass changes nothing, at most three passes), keeping the setting that
gets the most dev questions right:

    score = answerable questions answered with every must-include group
            + REFUSAL_WEIGHT x unanswerable questions refused

(an unrelated answer with a real citation is the worst failure, so a refusal counts double), among the
settings that refuse at least REFUSAL_FLOOR of the unanswerable dev questions (the product's target for
honest refusals) when any does: such a setting beats every one short of the floor, and among those short
of it the score decides (ranking them by refusals alone would give up any number of right answers for
one more refusal, which the doubled weight already prices). Ties keep
the current value, so a rerun reproduces the constants in the code; `--check` exits 1 when they differ.
Each run writes what it found to eval/calibration.json (tests/test_calibrate.py checks the code uses it).

Usage: python eval/calibrate.py [--store DIR] [--check]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RECORD = ROOT / "eval" / "calibration.json"
sys.path.insert(0, str(ROOT))

from qa.answer.engine import QA  # noqa: E402
from qa.answer.extractive import PARAMS, Params  # noqa: E402
from qa.evaluation.evaluate import includes_all, open_store  # noqa: E402
from qa.index.retrieve import Retrieval, parse_filters  # noqa: E402
from qa.settings import Settings  # noqa: E402

REFUSAL_WEIGHT = 2
REFUSAL_FLOOR = 0.95  # share of unanswerable dev questions a chosen setting must refuse (when one can)
GRID: dict[str, tuple[float, ...]] = {
    "w_dense": (0.4, 0.45, 0.5, 0.55, 0.6, 0.65),
    "support_dense": (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6),
    "attribute_cover": (0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7),
    "support_score": (0.2, 0.25, 0.3, 0.33, 0.36, 0.4),
    "runner_up": (0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95),
    "list_runner_up": (0.4, 0.5, 0.6, 0.7, 0.8),
    "kind_bonus": (0.05, 0.1, 0.15, 0.2, 0.25),
    "subject_dense": (0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45),
    "subject_near": (0.4, 0.45, 0.5, 0.55, 0.6, 0.7, 1.0),
    "focus_dense": (0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 1.0),
    "evidence_near": (0.0, 0.4, 0.5, 0.6, 0.7, 0.8),
    "background": (0.0, 0.1, 0.15, 0.2, 0.3),
}


@dataclass(frozen=True)
class Item:
    """One dev question with what a right answer must contain."""

    question: str
    must_include: list[list[str]]
    answerable: bool


def dev_items(eval_dir: Path) -> list[Item]:
    """The dev questions and their rewordings (never the test split)."""
    gold = [json.loads(line) for line in (eval_dir / "gold.jsonl").read_text().splitlines() if line.strip()]
    by_id = {g["id"]: g for g in gold}
    items = [Item(g["question"], g["must_include"], g["answerable"]) for g in gold]
    rewordings = eval_dir / "paraphrases.jsonl"
    if rewordings.is_file():
        for line in rewordings.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                g = by_id[row["id"]]
                items += [Item(text, g["must_include"], g["answerable"]) for text in row["rewordings"]]
    return items


class Scorer:
    """What `calibrate` needs of a bench: a score per setting."""

    unanswerable = 0  # how many unanswerable questions it scores (0: no refusal floor)

    def score(self, params: Params) -> tuple[int, int, int]:  # pragma: no cover - an interface
        raise NotImplementedError


class Bench(Scorer):
    """The dev questions retrieved once, answered again under any `Params`."""

    def __init__(self, engine: QA, items: list[Item]) -> None:
        self.engine = engine
        self.items = items
        self.unanswerable = sum(not i.answerable for i in items)
        self.retrievals: list[Retrieval] = [engine.retrieve(i.question, None, parse_filters(i.question))
                                            for i in items]

    def score(self, params: Params) -> tuple[int, int, int]:
        """(objective, answerable right, unanswerable refused) under `params`."""
        self.engine.params = params
        right = refused = 0
        for item, retrieval in zip(self.items, self.retrievals, strict=True):
            answer = self.engine.answer_retrieved(item.question, retrieval)
            if item.answerable:
                right += not answer.refused and includes_all(answer.answer, item.must_include)
            else:
                refused += answer.refused
        return right + REFUSAL_WEIGHT * refused, right, refused


def calibrate(bench: Scorer, start: Params = PARAMS, passes: int = 3) -> tuple[Params, tuple[int, int, int]]:
    """Coordinate ascent over `GRID` from `start` (by refusal floor met, then objective); ties keep the current
    value."""
    def rank(score: tuple[int, int, int]) -> tuple[bool, int]:
        """Whether the refusal floor is met, then the objective."""
        return score[2] >= REFUSAL_FLOOR * bench.unanswerable, score[0]

    best, best_score = start, bench.score(start)
    for _ in range(passes):
        before = best
        for name, grid in GRID.items():
            for value in grid:
                if value == getattr(best, name):
                    continue
                candidate = _with(best, name, value)
                score = bench.score(candidate)
                if rank(score) > rank(best_score):
                    best, best_score = candidate, score
        if best == before:
            break  # a whole pass changed nothing: converged
    return best, best_score


def _with(params: Params, name: str, value: float) -> Params:
    changes = {name: value}
    if name == "w_dense":
        changes["w_lexical"] = round(1 - value, 2)
    return replace(params, **changes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", type=Path, help="a store holding the bundled corpus (default: a fresh one)")
    parser.add_argument("--check", action="store_true", help="exit 1 unless the code's constants are reproduced")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(store=args.store or Path(tmp) / "store")
        engine = QA(settings, open_store(settings))
        items = dev_items(ROOT / "eval")
        bench = Bench(engine, items)
        found, score = calibrate(bench)
    unanswerable = sum(not i.answerable for i in items)
    print(f"dev questions: {len(items)} ({unanswerable} unanswerable); right {score[1]}/{len(items) - unanswerable}, "
          f"refused {score[2]}/{unanswerable}")
    print("Params(" + ", ".join(f"{f.name}={getattr(found, f.name)!r}" for f in fields(Params)) + ")")
    RECORD.write_text(json.dumps({"params": asdict(found), "objective": score[0], "answerable_right": score[1],
                                  "answerable": len(items) - unanswerable, "unanswerable_refused": score[2],
                                  "unanswerable": unanswerable, "refusal_weight": REFUSAL_WEIGHT,
                                  "refusal_floor": REFUSAL_FLOOR}, indent=2) + "\n")
    if args.check and asdict(found) != asdict(PARAMS):
        print("the constants in qa/answer/extractive.py differ from these: update PARAMS", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
