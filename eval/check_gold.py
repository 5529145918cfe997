"""Validate eval/gold.jsonl against the sample corpus.

Checks: the schema of every line, unique ids, known categories, minimum counts per kind of question,
that every paper of the corpus is covered, and that every `must_include` group has at least one
alternative occurring (case-insensitively) in the abstracts of the papers named in `gold_keys`.

The corpus is parsed crudely and independently of `qa.sources`, so a bug there cannot hide here:
every long line is an abstract; an `arXiv:<id>` at the start of a line (alone, or glued to the next
abstract) belongs to the abstract BEFORE it; abstracts are merged by the start of their normalised
text (so the two CodeElo variants become one paper with both texts).

Usage: python eval/check_gold.py [--gold eval/gold.jsonl] [--corpus DIR] [--list-papers]
Exit status 0 when the gold file is valid, 1 with one line per problem otherwise.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.papers import normalize_text, text_key  # noqa: E402

DEFAULT_GOLD = ROOT / "eval" / "gold.jsonl"
DEFAULT_CORPUS = ROOT / "qa" / "corpus"

CATEGORIES = {
    "fact",
    "which_paper",
    "multi_paper",
    "by_id",
    "date_scoped",
    "no_id",
    "variant_conflict",
    "paraphrase",
    "unanswerable",
}
MIN_TOTAL = 60
MIN_PER_CATEGORY = {
    "fact": 1,
    "which_paper": 1,
    "multi_paper": 1,
    "by_id": 1,
    "date_scoped": 1,
    "no_id": 6,
    "variant_conflict": 1,
    "paraphrase": 8,
    "unanswerable": 12,
}
EXPECTED_PAPERS, EXPECTED_WITH_ID, EXPECTED_WITHOUT_ID = 27, 19, 8
CODEELO = "arXiv:2501.01257"
ADMIN_NOTE_ID = "2408.15262"  # appears only in an admin note: not a paper of the corpus

LEADING_ID = re.compile(r"^arXiv:(\d{4}\.\d{4,5})(?:v\d+)?")
MIN_ABSTRACT_CHARS = 300  # comment lines (pages, venues, URLs, admin notes) are all far shorter
PREFIX_CHARS = 200  # abstracts starting alike are the same paper (variants differ later)


@dataclass
class CorpusPaper:
    texts: list[str] = field(default_factory=list)
    arxiv_id: str | None = None

    @property
    def key(self) -> str:
        return f"arXiv:{self.arxiv_id}" if self.arxiv_id else text_key(self.texts[0])

    @property
    def haystack(self) -> str:
        return "\n".join(self.texts).lower()


def parse_corpus(corpus: Path) -> dict[str, CorpusPaper]:
    """doc_key -> paper, merged over every file of `corpus`."""
    by_prefix: dict[str, CorpusPaper] = {}
    for path in sorted(corpus.glob("*.txt")):
        previous: CorpusPaper | None = None
        for raw in path.read_text(encoding="utf-8").splitlines():
            line = raw.strip()
            m = LEADING_ID.match(line)
            if m:
                if previous is None:
                    raise SystemExit(f"{path.name}: arXiv ID {m.group(1)} with no abstract before it")
                if previous.arxiv_id not in (None, m.group(1)):
                    raise SystemExit(f"{path.name}: conflicting IDs {previous.arxiv_id} / {m.group(1)}")
                previous.arxiv_id = m.group(1)
                line = line[m.end() :].strip()
            if line.startswith("Abstract:"):
                line = line[len("Abstract:") :].strip()
            if len(line) < MIN_ABSTRACT_CHARS:
                continue  # blank, Created:, comments, stray header
            prefix = normalize_text(line)[:PREFIX_CHARS]
            paper = by_prefix.setdefault(prefix, CorpusPaper())
            if line not in paper.texts:
                paper.texts.append(line)
            previous = paper
    return {p.key: p for p in by_prefix.values()}


def validate(gold: Path, papers: dict[str, CorpusPaper]) -> tuple[list[str], list[dict[str, object]]]:
    problems: list[str] = []
    with_id = sum(1 for p in papers.values() if p.arxiv_id)
    if (len(papers), with_id) != (EXPECTED_PAPERS, EXPECTED_WITH_ID):
        problems.append(
            f"corpus: expected {EXPECTED_PAPERS} papers ({EXPECTED_WITH_ID} with ID, {EXPECTED_WITHOUT_ID} without), "
            f"parsed {len(papers)} ({with_id} with ID)"
        )
    if CODEELO in papers and len(papers[CODEELO].texts) != 2:
        problems.append(f"corpus: expected two variants of {CODEELO}, found {len(papers[CODEELO].texts)}")
    if f"arXiv:{ADMIN_NOTE_ID}" in papers:
        problems.append(f"corpus: admin-note ID {ADMIN_NOTE_ID} parsed as a paper")

    rows: list[dict[str, object]] = []
    for n, raw in enumerate(gold.read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
        except json.JSONDecodeError as e:
            problems.append(f"line {n}: invalid JSON: {e}")
            continue
        if not isinstance(row, dict):
            problems.append(f"line {n}: not an object")
            continue
        rows.append(row)
        problems.extend(f"line {n} ({row.get('id')}): {p}" for p in check_row(row, papers))

    ids = Counter(str(r.get("id")) for r in rows)
    problems.extend(f"duplicate id {i!r} ({c} times)" for i, c in ids.items() if c > 1)
    if len(rows) < MIN_TOTAL:
        problems.append(f"only {len(rows)} questions, need at least {MIN_TOTAL}")
    cats = Counter(str(r.get("category")) for r in rows)
    for cat, least in MIN_PER_CATEGORY.items():
        if cats[cat] < least:
            problems.append(f"category {cat}: {cats[cat]} questions, need at least {least}")
    no_id_questions = sum(1 for r in rows if any(k.startswith("doc:") for k in _keys(r)))
    if no_id_questions < MIN_PER_CATEGORY["no_id"]:
        problems.append(f"only {no_id_questions} questions cite a paper without an ID, need 6")
    cited = {k for r in rows for k in _keys(r)}
    problems.extend(f"paper {k} is never a gold key" for k in sorted(set(papers) - cited))
    if not any(ADMIN_NOTE_ID in str(r.get("question")) and r.get("answerable") is False for r in rows):
        problems.append(f"no unanswerable question about the admin-note ID arXiv:{ADMIN_NOTE_ID}")
    return problems, rows


def _keys(row: dict[str, object]) -> list[str]:
    keys = row.get("gold_keys")
    return [str(k) for k in keys] if isinstance(keys, list) else []


def check_row(row: dict[str, object], papers: dict[str, CorpusPaper]) -> list[str]:
    problems: list[str] = []
    fields = {"id", "question", "answer", "must_include", "gold_keys", "answerable", "category"}
    if set(row) != fields:
        problems.append(f"fields {sorted(row)} != {sorted(fields)}")
        return problems
    for name in ("id", "question", "answer", "category"):
        if not isinstance(row[name], str) or not str(row[name]).strip():
            problems.append(f"{name} must be a non-empty string")
    if not re.fullmatch(r"q\d{3}", str(row["id"])):
        problems.append(f"id {row['id']!r} is not like q001")
    if row["category"] not in CATEGORIES:
        problems.append(f"unknown category {row['category']!r}")
    answerable = row["answerable"]
    if not isinstance(answerable, bool):
        problems.append("answerable must be a boolean")
    groups = row["must_include"]
    keys = row["gold_keys"]
    if not (isinstance(groups, list) and all(isinstance(g, list) and g for g in groups)):
        problems.append("must_include must be a list of non-empty lists")
        return problems
    if not all(isinstance(a, str) and a.strip() for g in groups for a in g):
        problems.append("must_include alternatives must be non-empty strings")
        return problems
    if not (isinstance(keys, list) and all(isinstance(k, str) for k in keys)):
        problems.append("gold_keys must be a list of strings")
        return problems
    if len(set(keys)) != len(keys):
        problems.append("duplicate gold_keys")
    unanswerable = row["category"] == "unanswerable"
    if unanswerable != (answerable is False):
        problems.append("category unanswerable <=> answerable false")
    if answerable is False:
        if groups or keys:
            problems.append("an unanswerable question has must_include [] and gold_keys []")
        return problems
    if not groups or not keys:
        problems.append("an answerable question needs must_include and gold_keys")
    unknown = [k for k in keys if k not in papers]
    if unknown:
        problems.append(f"gold_keys not in the corpus: {unknown}")
        return problems
    haystack = "\n".join(papers[k].haystack for k in keys)
    answer = str(row["answer"]).lower()
    for group in groups:
        if not any(str(alt).lower() in haystack for alt in group):
            problems.append(f"no alternative of {group} occurs in the abstracts of {keys}")
        if not any(str(alt).lower() in answer for alt in group):
            problems.append(f"the reference answer matches no alternative of {group}")
    if row["category"] == "variant_conflict":
        if CODEELO not in keys:
            problems.append(f"a variant_conflict question cites {CODEELO}")
        if not all(s in answer for s in ("20", "25")):
            problems.append("a variant_conflict answer mentions both 20 and 25 percent")
    if row["category"] == "no_id" and not any(k.startswith("doc:") for k in keys):
        problems.append("a no_id question cites a doc: key")
    if row["category"] == "by_id" and not re.search(r"\d{4}\.\d{4,5}", str(row["question"])):
        problems.append("a by_id question names an arXiv ID")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", type=Path, default=DEFAULT_GOLD)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--list-papers", action="store_true", help="print the parsed papers and exit")
    args = parser.parse_args()
    papers = parse_corpus(args.corpus)
    if args.list_papers:
        for key, paper in sorted(papers.items()):
            print(f"{key}\t{len(paper.texts)} text(s)\t{paper.texts[0][:70]}")
        return 0
    problems, rows = validate(args.gold, papers)
    for problem in problems:
        print(problem, file=sys.stderr)
    cats = Counter(str(r.get("category")) for r in rows)
    summary = ", ".join(f"{c}={cats[c]}" for c in sorted(CATEGORIES))
    answerable = sum(1 for r in rows if r.get("answerable") is True)
    print(f"{len(rows)} questions ({answerable} answerable) over {len(papers)} papers: {summary}")
    print("OK" if not problems else f"FAILED: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
