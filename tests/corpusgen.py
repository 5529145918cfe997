"""Synthetic abstracts for tests and benchmarks: deterministic, realistic enough to chunk and embed."""

from __future__ import annotations

import json
import random
from pathlib import Path

_WORDS = """
model language training data reasoning benchmark evaluation transformer attention retrieval
embedding token context learning reinforcement policy reward vision image speech audio graph
network sparse dense scaling law parameter inference latency memory efficient robust
multilingual dataset annotation synthetic alignment preference optimization gradient loss
accuracy baseline state-of-the-art architecture layer head expert mixture quantization
distillation pruning
""".split()


def abstract(rng: random.Random, sentences: int = 8) -> str:
    """One abstract of `sentences` sentences of 12-22 words."""
    out = []
    for _ in range(sentences):
        words = [rng.choice(_WORDS) for _ in range(rng.randint(12, 22))]
        out.append(" ".join(words).capitalize() + ".")
    return " ".join(out)


def write_blocks(path: Path, n: int, seed: int = 0, first_id: int = 10000) -> list[str]:
    """A layout-1 file of `n` records with IDs 2401.<first_id+i>; returns the IDs."""
    rng = random.Random(seed)
    ids = [f"2401.{first_id + i:05d}" for i in range(n)]
    blocks = [f"{abstract(rng)}\n\narXiv:{i}\nCreated: 2024-01-15\n" for i in ids]
    path.write_text("\n".join(blocks), encoding="utf-8")
    return ids


def write_kaggle(path: Path, n: int, seed: int = 0) -> None:
    """A Kaggle-snapshot JSON-lines file of `n` records, streamed to disk."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as f:
        for i in range(n):
            rec = {"id": f"{2001 + i // 90000:04d}.{i % 90000:05d}", "title": f"Paper {i}", "authors": "A. Author",
                   "categories": "cs.CL cs.LG", "abstract": "  " + abstract(rng).replace(". ", ".\n  "),
                   "comments": None, "versions": [{"version": "v1", "created": "Mon, 6 Jan 2020 10:00:00 GMT"}],
                   "update_date": "2020-01-07"}
            f.write(json.dumps(rec) + "\n")
