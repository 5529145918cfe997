"""Write eval/thresholds.toml, whole, from a measured eval: every minimum is the figure minus a margin.

    .venv/bin/python eval/set_thresholds.py                              # runs the eval on a fresh ingest
    .venv/bin/python eval/set_thresholds.py --from eval/out/report.json  # from a recorded `arxiv-qa eval`
    .venv/bin/python eval/set_thresholds.py --from r.json --spread eval/spread.json --out /tmp/thresholds.toml
    .venv/bin/python eval/set_thresholds.py --from r.json --also eval/thresholds.toml  # keep another machine's

The figures differ a little from one CPU to another (the int8 embedding model's kernels differ, e.g. with
and without AVX-512 VNNI), so a gate written on one machine could fail on another with no change to the
code. `--also` gives figures measured elsewhere: a report.json, or a thresholds.toml, whose "measured"
lines record the figures it was written from; each minimum is then taken from the lowest measurement.

The eval is `arxiv-qa eval --split all`, extractive answers only (the LLM answerer is not gated).
Margin of a figure = one question's worth of its denominator (1/answerable for retrieval and answer
rates, 1/unanswerable for refusal recall, 1/refusals for refusal precision, 1/turns, 1/conversations,
1/follow-ups, 1/unanswerable turns, 1/questions, 1/rewordings) + the run-to-run spread recorded by
eval/spread.py (a retrieval figure's own spread; for any other figure the largest retrieval spread of
its split, since answers rest on retrieval). Minimums are rounded down to 0.001; one that is 0 or less
cannot fail and is left out. The product's floors are never lowered (FLOORS, MAXIMA): a figure measured
below its floor keeps the floor as its threshold, and the script says so (the gate then fails).
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "eval" / "thresholds.toml"
DEFAULT_SPREAD = ROOT / "eval" / "spread.json"
ANSWERER = "extractive"

# (table, metric) -> how many items one question's worth is 1 of, from one split's summary.
RETRIEVAL = ("hit@1", "hit@5", "recall@5", "mrr", "ndcg@10")
GATED: dict[str, tuple[str, ...]] = {
    **{f"retrieval.{name}": RETRIEVAL for name in ("hybrid", "bm25", "dense")},
    f"answers.{ANSWERER}": ("must_include", "token_f1", "citation_precision", "citation_recall",
                            "refusal_precision", "refusal_recall"),
    f"conversations.{ANSWERER}": ("turn_accuracy", "conversation_accuracy", "follow_up_accuracy", "refusal_recall"),
    f"paraphrases.{ANSWERER}": ("consistent", "right_original", "right_reworded"),
}
CONVERSATION_COUNTS = {"turn_accuracy": "turns", "conversation_accuracy": "conversations",
                       "follow_up_accuracy": "follow_ups", "refusal_recall": "unanswerable_turns"}
PARAPHRASE_COUNTS = {"consistent": "questions", "right_original": "questions", "right_reworded": "rewordings"}

# The floors the product promises: minimums never set lower, maxima never set higher. Refusal recall's
# floor binds the dev split; on the held-out test split a figure below it is reported, not gated at the
# floor: the test split is never tuned on, so a floor there could only be met by tuning on it.
FLOORS = {("retrieval.hybrid", "hit@5"): 0.95, (f"answers.{ANSWERER}", "refusal_recall"): 0.9}
REPORTED_ONLY = {("test", f"answers.{ANSWERER}", "refusal_recall")}
MAXIMA = {"fabricated_citations": 0, "latency_p50_s": 1.0, "latency_p95_s": 3.0}

HEADER = """\
# The quality gate: tests/test_eval_gate.py runs `arxiv-qa eval --split all` (extractive answers) on the
# bundled corpus and fails when a figure falls below its number here (or, under a `max` table, rises
# above it). Keys are those of `arxiv-qa eval --json`, one table per split. eval/README.md, "Thresholds".
#
# WRITTEN BY eval/set_thresholds.py on {date} from {source}.{also}
# Do not edit by hand: rerun it (after eval/spread.py when retrieval changes).
# Minimum = measured - margin, rounded down to 0.001; margin = one question's worth of the figure's
# denominator (given per line) + the run-to-run spread of retrieval over {runs} fresh ingests
# (eval/spread.json of {spread_date}: largest spread {max_spread:g}). A minimum of 0 or less cannot
# fail and is left out.
# Floors, never lowered: hybrid hit@5 >= 0.95, fabricated citations = 0 (dev and test), refusal
# recall >= 0.9 (dev; on the held-out test split a shortfall is noted, and its gate is measured -
# margin, as the test split is never tuned on), p95 latency <= 3 s (p50 <= 1 s). A dev figure measured
# below its floor is marked BELOW THE FLOOR: the gate fails on it until the figure is raised.
"""


def floor3(value: float) -> float:
    """Rounded down to 0.001 (a hair of float error forgiven)."""
    return math.floor(value * 1000 + 1e-6) / 1000


def split_figures(figures: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """The summary of each split, from `arxiv-qa eval --json` output or a report.json."""
    if figures.get("split") == "all":
        return dict(figures["splits"])
    return {str(figures.get("split", "dev")): figures}


def lookup(figures: Mapping[str, Any], table: str) -> Mapping[str, Any]:
    """A dotted table of a split's summary ({} when absent)."""
    node: Any = figures
    for part in table.split("."):
        node = node.get(part, {}) if isinstance(node, Mapping) else {}
    return node if isinstance(node, Mapping) else {}


def denominator(figures: Mapping[str, Any], table: str, metric: str) -> int:
    """How many items the figure is a share of (0: not measurable)."""
    answerable, unanswerable = figures["answerable"], figures["questions"] - figures["answerable"]
    if table.startswith("conversations."):
        return int(lookup(figures, table).get(CONVERSATION_COUNTS[metric], 0))
    if table.startswith("paraphrases."):
        return int(lookup(figures, table).get(PARAPHRASE_COUNTS[metric], 0))
    if metric == "refusal_recall":
        return int(unanswerable)
    if metric == "refusal_precision":
        answers = lookup(figures, table)
        right = answers.get("refusal_recall", 0.0) * unanswerable
        refused = round(right / answers["refusal_precision"]) if answers.get("refusal_precision") else 0
        return int(refused or unanswerable)
    return int(answerable)


def spread_of(spread: Mapping[str, Any], split: str, table: str, metric: str) -> float:
    """The recorded run-to-run spread a figure's margin adds."""
    per = spread.get("spread", {}).get(split, {})
    if table.startswith("retrieval."):
        return float(per.get(table.split(".", 1)[1], {}).get(metric, 0.0))
    return max((w for metrics in per.values() for w in metrics.values()), default=0.0)


def table_lines(split: str, table: str, figures: Mapping[str, Any], spread: Mapping[str, Any],
                warnings: list[str], others: Sequence[Mapping[str, Any]] = ()) -> list[str]:
    """The TOML of one gated table of one split: header, measured line, thresholds (none when not measured).
    `others`: the same split's figures measured on other machines; each figure is taken at its lowest."""
    measured = lowest(lookup(figures, table), [lookup(o, table) for o in others])
    metrics = [m for m in GATED[table] if isinstance(measured.get(m), int | float)]
    if not metrics:
        return []
    lines, kept, notes = [f"[{split}.{table}]"], [], []
    measured_text = ", ".join(f"{m} {measured[m]:.4g}" for m in metrics)
    for metric in metrics:
        count = denominator(figures, table, metric)
        if not count:
            continue
        margin = 1 / count + spread_of(spread, split, table, metric)
        value, why = floor3(measured[metric] - margin), f"margin 1/{count} + {margin - 1 / count:.4g}"
        floor = FLOORS.get((table, metric))
        if floor is not None and (split, table, metric) in REPORTED_ONLY:
            if measured[metric] < floor:
                notes.append(f"{metric} below the product floor {floor:g} (held out, reported, not tuned on)")
                warnings.append(f"{split}.{table}.{metric} measured {measured[metric]:g} is below the product "
                                f"floor {floor:g}")
            floor = None
        if floor is not None and value < floor:
            value, why = floor, f"the floor (measured - margin = {value:.3f})"
            if measured[metric] < floor:
                notes.append(f"{metric} BELOW THE FLOOR {floor:g}")
                warnings.append(f"{split}.{table}.{metric} measured {measured[metric]:g} is below the floor {floor:g}: "
                                "the gate fails until it is raised")
        if value > 0:
            kept.append(f"{_key(metric)} = {value:.3f}  # {why}")
        else:
            notes.append(f"{metric} not gated (measured - margin <= 0: cannot fail)")
    lines.append(f"# measured: {measured_text}" + (f"; {'; '.join(notes)}" if notes else ""))
    return [*lines, *kept, ""]


def measured_in(source: Path) -> dict[str, Any]:
    """The figures a report.json holds, or those a thresholds.toml was written from (its "measured" lines)."""
    text = source.read_text(encoding="utf-8")
    if source.suffix != ".toml":
        return {split: dict(figs) for split, figs in split_figures(json.loads(text)).items()}
    out: dict[str, Any] = {}
    table: list[str] = []
    for line in text.splitlines():
        if line.startswith("[") and line.endswith("]"):
            table = line[1:-1].split(".")
        elif line.startswith("# measured: ") and table and table[-1] != "max":
            node = out
            for part in table:
                node = node.setdefault(part, {})
            for item in line[len("# measured: "):].split(";")[0].split(", "):
                metric, _, value = item.rpartition(" ")
                node[metric] = float(value)
    return out


def lowest(own: Mapping[str, Any], others: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """`own` figures, each lowered to the lowest that another measurement of it gives."""
    return {m: min([v, *(o[m] for o in others if isinstance(o.get(m), int | float))]) if isinstance(v, int | float)
            else v for m, v in own.items()}


def max_lines(split: str, figures: Mapping[str, Any]) -> list[str]:
    """The maxima of one split's extractive answers (fixed: the floors)."""
    measured = lookup(figures, f"answers.{ANSWERER}")
    if not measured:
        return []
    text = ", ".join(f"{m} {measured[m]:.4g}" for m in MAXIMA if m in measured)
    return [f"[{split}.answers.{ANSWERER}.max]", f"# measured: {text} (latency depends on the machine)",
            *(f"{m} = {limit}" for m, limit in MAXIMA.items()), ""]


def _key(metric: str) -> str:
    return f'"{metric}"' if not metric.replace("_", "").isalnum() else metric


def render(figures: Mapping[str, Any], spread: Mapping[str, Any], source: str,
           others: Sequence[Mapping[str, Any]] = (), also_sources: Sequence[str] = ()) -> tuple[str, list[str]]:
    """The whole thresholds.toml for a measured eval, and the warnings (figures below a floor).

    `others`: the figures of the same eval measured on other machines (`measured_in`); each minimum is
    taken from the lowest measurement of its figure."""
    warnings: list[str] = []
    also = "".join(f"\n# Each \"measured\" figure is the lowest of that run and of the one on another machine ({a})."
                   for a in also_sources)
    text = HEADER.format(date=datetime.date.today().isoformat(), source=source, also=also, runs=spread.get("runs", 0),
                         spread_date=spread.get("date", "never"), max_spread=spread.get("max_spread", 0.0))
    lines = [text]
    for split, split_figs in split_figures(figures).items():
        for table in GATED:
            lines += table_lines(split, table, split_figs, spread, warnings, [o.get(split, {}) for o in others])
        lines += max_lines(split, split_figs)
    return "\n".join(lines).rstrip() + "\n", warnings


def measure(store: Path | None, data: Path) -> dict[str, Any]:
    """`arxiv-qa eval --split all` (extractive) on `store`, or on a fresh ingest of the bundled corpus."""
    sys.path.insert(0, str(ROOT))
    from qa.evaluation.evaluate_turns import evaluate_splits, load_splits
    from qa.evaluation.report import summaries
    from qa.settings import Settings

    def log(message: str) -> None:
        print(f"eval: {message}", file=sys.stderr)

    with tempfile.TemporaryDirectory(prefix="arxiv-qa-thresholds-") as tmp:
        settings = Settings(store=store or Path(tmp) / "store")
        return summaries(evaluate_splits(settings, load_splits(data, "all"), log=log, modes=[ANSWERER]))


def source_of(args: argparse.Namespace) -> str:
    if args.source:
        return str(args.source)
    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"], capture_output=True,
                                text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "an unknown commit"
    return f"a fresh ingest of the bundled corpus, code at {commit}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--from", dest="source", type=Path, help="a recorded report.json or `eval --json` output")
    parser.add_argument("--also", type=Path, action="append", default=[],
                        help="figures of the same eval measured on another machine: a report.json, or a "
                        "thresholds.toml (its measured lines); repeatable")
    parser.add_argument("--spread", type=Path, default=DEFAULT_SPREAD, help="eval/spread.py's output")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the file to write (eval/thresholds.toml)")
    parser.add_argument("--store", type=Path, help="evaluate this store instead of a fresh ingest")
    parser.add_argument("--data", type=Path, default=ROOT / "eval", help="eval data directory")
    args = parser.parse_args()
    if not args.spread.exists():
        raise SystemExit(f"set_thresholds: no {args.spread}: run eval/spread.py first")
    spread = json.loads(args.spread.read_text(encoding="utf-8"))
    figures = json.loads(args.source.read_text(encoding="utf-8")) if args.source else measure(args.store, args.data)
    others = [measured_in(path) for path in args.also]  # read before --out may overwrite one of them
    text, warnings = render(figures, spread, source_of(args), others, [str(p) for p in args.also])
    args.out.write_text(text, encoding="utf-8")
    for warning in warnings:
        print(f"set_thresholds: warning: {warning}", file=sys.stderr)
    print(f"set_thresholds: wrote {args.out}")


if __name__ == "__main__":
    main()
