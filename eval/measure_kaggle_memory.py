"""Measure throughput and peak memory of streaming a Kaggle-sized arXiv snapshot through `qa.ingest.sources`.

Writes a synthetic ``arxiv-metadata-oai-snapshot.json`` (JSON lines shaped like Kaggle's, ~1 KB
abstracts of random words wrapped the way the snapshot wraps them) into a temporary directory,
streams it through `qa.ingest.sources.read_papers`, and prints papers/s and the process's peak RSS before
and after. Peak RSS must barely move: the parser keeps one line in memory, not the file.

Usage: python eval/measure_kaggle_memory.py [--lines 1000000] [--dir DIR] [--keep] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.ingest.sources import read_papers  # noqa: E402

try:  # optional: current RSS as well as the peak (psutil is a dev dependency)
    import psutil
except ImportError:  # pragma: no cover - psutil is optional here
    psutil = None

CATEGORIES = ["cs.CL", "cs.AI", "cs.LG", "cs.CV", "cs.IR", "hep-th", "hep-ph", "math.DG", "stat.ML", "quant-ph"]
WORDS_PER_ABSTRACT = 150  # ~1 KB with the vocabulary below
WORDS_PER_LINE = 12  # the snapshot wraps abstracts at ~80 columns


def vocabulary(rng: random.Random, size: int = 5000) -> list[str]:
    """`size` pronounceable-ish words of 3 to 10 letters."""
    letters = "etaoinshrdlucmfwypvbgkqjxz"
    weights = [26 - i for i in range(26)]
    return ["".join(rng.choices(letters, weights, k=rng.randint(3, 10))) for _ in range(size)]


def abstract(rng: random.Random, vocab: list[str]) -> str:
    """A ~1 KB abstract wrapped with newlines and a leading indent, as in the snapshot."""
    words = rng.choices(vocab, k=WORDS_PER_ABSTRACT)
    lines = [" ".join(words[i:i + WORDS_PER_LINE]) for i in range(0, len(words), WORDS_PER_LINE)]
    return "  " + ".\n".join(lines) + ".\n"


def record(n: int, rng: random.Random, vocab: list[str]) -> dict[str, Any]:
    """The n-th synthetic snapshot record; one in fifty has an old-style ID."""
    arxiv_id = f"hep-th/{9100001 + n // 50:07d}" if n % 50 == 0 else f"{1001 + n // 99_999 % 1200:04d}.{n % 99_999:05d}"
    title = " ".join(rng.choices(vocab, k=10))
    return {
        "id": arxiv_id, "submitter": "A. Author", "authors": "A. Author, B. Author and C. Author",
        "title": title[:60] + "\n  " + title[60:], "comments": f"{rng.randint(4, 40)} pages", "journal-ref": None,
        "doi": None, "report-no": None, "categories": " ".join(rng.sample(CATEGORIES, 2)), "license": None,
        "abstract": abstract(rng, vocab),
        "versions": [{"version": "v1", "created": "Mon, 2 Apr 2007 19:18:42 GMT"}],
        "update_date": "2008-11-13", "authors_parsed": [["Author", "A.", ""], ["Author", "B.", ""]],
    }


def generate(path: Path, lines: int, seed: int) -> None:
    """Write `lines` records to `path`, one at a time (the generator must not inflate the peak either)."""
    rng = random.Random(seed)
    vocab = vocabulary(rng)
    with path.open("w", encoding="utf-8") as f:
        for n in range(lines):
            f.write(json.dumps(record(n, rng, vocab)) + "\n")


def memory(label: str) -> None:
    """Print the peak RSS so far (ru_maxrss, KiB on Linux) and the current RSS when psutil is there."""
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    current = f", current RSS {psutil.Process().memory_info().rss / 2**20:.1f} MiB" if psutil else ""
    print(f"{label}: peak RSS (ru_maxrss) {peak_mb:.1f} MiB{current}", flush=True)


def stream(path: Path) -> None:
    """Read every paper of `path` and print the throughput."""
    start = time.perf_counter()
    count = chars = 0
    for paper in read_papers(path):
        count += 1
        chars += len(paper.abstract)
    seconds = time.perf_counter() - start
    size_mb = path.stat().st_size / 2**20
    print(f"streamed {count:,} papers ({size_mb:,.0f} MiB, {chars / max(count, 1):,.0f} abstract chars on average) "
          f"in {seconds:.1f} s: {count / seconds:,.0f} papers/s, {size_mb / seconds:.1f} MiB/s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000, help="records to generate (default 1,000,000)")
    parser.add_argument("--dir", type=Path, help="where to write the file (default: a new temporary directory)")
    parser.add_argument("--keep", action="store_true", help="keep the generated file")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        path = Path(tmp) / "arxiv-metadata-oai-snapshot.json"
        memory("at start")
        start = time.perf_counter()
        generate(path, args.lines, args.seed)
        print(f"generated {args.lines:,} lines ({path.stat().st_size / 2**20:,.0f} MiB) "
              f"in {time.perf_counter() - start:.1f} s: {path}", flush=True)
        memory("before streaming")
        stream(path)
        memory("after streaming")
        if args.keep:
            kept = (args.dir or Path.cwd()) / path.name
            shutil.move(path, kept)
            print(f"kept {kept}")


if __name__ == "__main__":
    main()
