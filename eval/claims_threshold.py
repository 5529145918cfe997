"""Measure the claim check's support scores on the DEV split and derive `claims.SUPPORT_THRESHOLD`.

The dev split is eval/gold.jsonl; the test split (eval/test.jsonl) is never read here. For each
answerable dev question the question is retrieved as the engine does, then three kinds of cited
sentence are scored against what was retrieved:

- supported: each sentence of the gold answer, cited to its gold paper(s);
- misattributed: the same sentence cited to the best-ranked retrieved paper that is not a gold one
  (a true fact, the wrong paper: what a model does when it mixes up siblings);
- swapped: that sentence with the gold paper's name replaced by the other paper's, cited to it
  (the other paper's name, a fact it does not state; a sentence that is only the name is true then);
- invented: claims no abstract of the corpus makes, about the gold paper (INVENTED).

The threshold printed is the one that classifies the most claims right (supported ones kept,
the others flagged), the lowest such value: a reworded true claim should not be flagged. Claims
stating a number the paper lacks are flagged whatever the threshold; they are counted apart.

Usage: python eval/claims_threshold.py [--store DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from statistics import median
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.answer.claims import (  # noqa: E402
    Source,
    cited_sources,
    claim_text,
    content_stems,
    merged,
    missing_numbers,
    support,
)
from qa.answer.engine import QA  # noqa: E402
from qa.evaluation.evaluate import open_store  # noqa: E402
from qa.papers import split_sentences  # noqa: E402
from qa.settings import Settings  # noqa: E402

INVENTED = (
    "{name} was trained on Mars.",
    "{name} is aligned with reinforcement learning from human feedback collected from medical doctors.",
    "{name} is trained only on English text scraped from legal contracts.",
    "{name} runs entirely on a smartphone without any GPU.",
    "{name} was developed by a team of marine biologists to count fish.",
    "{name} introduces a tokenizer that turns text into musical notes.",
    "{name} shows that larger models always hallucinate less on medical questions.",
    "{name} is released under a proprietary license that forbids research use.",
)
VERBOSE = "-v" in sys.argv
KINDS = ("supported", "misattributed", "swapped", "invented", "numbers")


def scored(engine: QA, gold: dict[str, Any]) -> dict[str, list[float]]:
    """The support scores of one dev question's claims of each kind (KINDS)."""
    retrieval = engine.retriever.retrieve(gold["question"])
    papers = {p.chunk.doc_key: engine.store.paper(p.chunk.doc_key) for p in retrieval.passages}
    sources = cited_sources(retrieval.passages, papers)
    keys = [k for k in gold["gold_keys"] if k in sources]
    other = next((k for k in sources if k not in gold["gold_keys"]), None)
    out: dict[str, list[float]] = {kind: [] for kind in KINDS}
    if not keys:
        return out
    name = engine.label(keys[0]) or keys[0]
    for sentence in map(claim_text, split_sentences(gold["answer"])):
        add(out, "supported", sentence, merged(sources[k] for k in keys), engine)
        if other is not None:
            add(out, "misattributed", sentence, sources[other], engine)
            if name in sentence and content_stems(sentence.replace(name, " ")) and (other_name := engine.label(other)):
                add(out, "swapped", sentence.replace(name, other_name), sources[other], engine)
    for template in INVENTED:
        add(out, "invented", template.format(name=name), sources[keys[0]], engine)
    return out


def add(out: dict[str, list[float]], kind: str, claim: str, source: Source, engine: QA) -> None:
    """Score `claim` against `source`; a false claim stating a number the source lacks counts apart."""
    if kind != "supported" and missing_numbers(claim, source.text):
        kind = "numbers"
    score = support(claim, source, engine._sentence_vectors, engine.store.lexicon().idf)
    out[kind].append(score)
    if VERBOSE:
        print(f"{kind:14} {score:.3f}  {claim}")


def best_threshold(kept: list[float], flagged: list[float]) -> tuple[float, int]:
    """The lowest threshold (in steps of 0.01) classifying the most claims right, and how many it gets right."""
    best = (0.0, -1)
    for step in range(101):
        t = step / 100
        right = sum(s >= t for s in kept) + sum(s < t for s in flagged)
        if right > best[1]:
            best = (t, right)
    return best


def summary(name: str, scores: list[float]) -> str:
    if not scores:
        return f"{name:14} none"
    return f"{name:14} n={len(scores):3}  min {min(scores):.3f}  median {median(scores):.3f}  max {max(scores):.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, help="a store holding the bundled corpus (default: a fresh one)")
    parser.add_argument("-v", action="store_true", help="print every claim with its score")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(store=args.store or Path(tmp) / "store")
        engine = QA(settings, open_store(settings))
        golds = [json.loads(line) for line in (ROOT / "eval" / "gold.jsonl").read_text().splitlines() if line.strip()]
        totals: dict[str, list[float]] = {kind: [] for kind in KINDS}
        for gold in golds:
            if gold["answerable"]:
                for kind, scores in scored(engine, gold).items():
                    totals[kind] += scores
    for kind, scores in totals.items():
        print(summary(kind, scores))
    flagged = totals["misattributed"] + totals["swapped"] + totals["invented"]
    threshold, right = best_threshold(totals["supported"], flagged)
    total = len(totals["supported"]) + len(flagged)
    print(f"threshold {threshold:.2f}: {right}/{total} claims classified right")


if __name__ == "__main__":
    main()
