"""Run-to-run spread of the retrieval figures over fresh ingests of the bundled corpus.

Each run ingests the bundled corpus into a new temporary store, in a new process, and scores
retrieval alone (BM25, dense, hybrid) on the dev and test splits. The spread of a figure is its
maximum minus its minimum over the runs; a digest of every ranking shows whether the runs ranked the
papers identically, not just scored the same. Writes eval/spread.json, whose spreads
eval/set_thresholds.py adds to the gate's margins (eval/README.md, "Thresholds").

    .venv/bin/python eval/spread.py                 # 5 runs, writes eval/spread.json
    .venv/bin/python eval/spread.py -n 3 --out /tmp/spread.json
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "eval" / "spread.json"
RETRIEVERS = ("bm25", "dense", "hybrid")


def one_run(store: Path, data: Path) -> dict[str, Any]:
    """Ingest the bundled corpus into `store`, then the retrieval figures and ranking digests per split."""
    sys.path.insert(0, str(ROOT))
    from qa.evaluation.evaluate import Evaluator, open_store
    from qa.evaluation.evaluate_turns import load_splits
    from qa.evaluation.report import retrieval_summary
    from qa.settings import Settings

    settings = Settings(store=store)
    start = time.perf_counter()
    evaluator = Evaluator(settings, open_store(settings))
    ingest_s = time.perf_counter() - start
    out: dict[str, Any] = {"ingest_s": round(ingest_s, 1), "figures": {}, "rankings": {}}
    for split in load_splits(data, "all"):
        report = evaluator.retrieval_only(split.gold, split.gold_path)
        out["figures"][split.name] = {k: v for k, v in retrieval_summary(report).items() if k in RETRIEVERS}
        out["rankings"][split.name] = {
            name: hashlib.sha256(json.dumps([r.ranked[name] for r in report.answerable()]).encode()).hexdigest()[:16]
            for name in RETRIEVERS}
    return out


def spread(runs: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, float]]]:
    """Max - min of every figure over the runs, per split, retriever and metric."""
    first = runs[0]["figures"]
    return {split: {name: {metric: round(max(r["figures"][split][name][metric] for r in runs)
                                         - min(r["figures"][split][name][metric] for r in runs), 6)
                           for metric in metrics}
                    for name, metrics in per.items()}
            for split, per in first.items()}


def spawn(store: Path, data: Path) -> dict[str, Any]:
    """`one_run` in a new process (a fresh interpreter, fresh models, fresh store)."""
    done = subprocess.run([sys.executable, __file__, "--one", str(store), "--data", str(data)],
                          capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"spread: run in {store} failed:\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def table(runs: list[dict[str, Any]], spreads: dict[str, dict[str, dict[str, float]]]) -> str:
    """The spread of each figure, with its minimum and maximum."""
    lines = [f"{'split':6} {'retriever':9} {'metric':9} {'min':>8} {'max':>8} {'spread':>8}"]
    for split, per in spreads.items():
        for name, metrics in per.items():
            for metric, width in metrics.items():
                values = [r["figures"][split][name][metric] for r in runs]
                lines.append(f"{split:6} {name:9} {metric:9} {min(values):8.4f} {max(values):8.4f} {width:8.4f}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--runs", type=int, default=5, help="fresh ingests (default 5)")
    parser.add_argument("--data", type=Path, default=ROOT / "eval", help="eval data directory (default eval/)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write the JSON (eval/spread.json)")
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)  # one run into this store, JSON on stdout
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_run(args.one, args.data)))
        return
    runs = []
    with tempfile.TemporaryDirectory(prefix="arxiv-qa-spread-") as tmp:
        for n in range(1, args.runs + 1):
            runs.append(spawn(Path(tmp) / f"store-{n}", args.data))
            print(f"spread: run {n}/{args.runs} done (ingest {runs[-1]['ingest_s']} s)", file=sys.stderr)
    spreads = spread(runs)
    identical = all(r["rankings"] == runs[0]["rankings"] for r in runs)
    result = {"runs": len(runs), "date": datetime.date.today().isoformat(), "identical_rankings": identical,
              "max_spread": max(w for per in spreads.values() for m in per.values() for w in m.values()),
              "spread": spreads, "per_run": runs}
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(table(runs, spreads))
    print(f"\n{len(runs)} fresh ingests; rankings identical in every run: {identical}; "
          f"largest spread {result['max_spread']:g}; written to {args.out}")


if __name__ == "__main__":
    main()
