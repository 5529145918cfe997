"""Warm latency of extractive answers on a store, split by stage (p50/p95 in milliseconds).

Asks every gold question (after one warm-up pass) through the library API and reads the stage
timings each Answer carries: rewrite, bm25, embed_query, dense, answer, total.

    .venv/bin/python eval/stage_latency.py --store .arxiv-qa [--gold eval/gold.jsonl] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
from pathlib import Path

from qa.answer.engine import QA
from qa.evaluation.evaluate import percentile
from qa.index.store import Store
from qa.settings import Settings

STAGES = ["rewrite", "bm25", "embed_query", "dense", "answer", "total"]


def measure(store: Path, gold: Path, rounds: int) -> dict[str, dict[str, float]]:
    settings = Settings(store=store, mode="extractive")
    qa = QA(settings, Store(settings))
    questions = [json.loads(line)["question"] for line in gold.read_text(encoding="utf-8").splitlines() if line]
    for q in questions:  # warm-up: models loaded, caches filled, as in a running server
        qa.ask(q)
    seen: dict[str, list[float]] = {stage: [] for stage in STAGES}
    for _ in range(rounds):
        for q in questions:
            timings = qa.ask(q).timings
            for stage in STAGES:
                seen[stage].append(timings.get(stage, 0.0) * 1000)
    return {stage: {"p50_ms": round(statistics.median(v), 2), "p95_ms": round(percentile(v, 95), 2)}
            for stage, v in seen.items()} | {"_": {"questions": len(questions), "rounds": rounds,
                                                    "loadavg_1m": round(os.getloadavg()[0], 2)}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--gold", type=Path, default=Path(__file__).with_name("gold.jsonl"))
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps(measure(args.store, args.gold, args.rounds), indent=2))


if __name__ == "__main__":
    main()
