"""Validate eval/gold.jsonl (dev split) or eval/test.jsonl (held-out test split) against the sample corpus.

Checks: the schema of every line, unique ids and questions, known categories, minimum counts per kind of
question, that every paper of the corpus is covered, and that every `must_include` group has at least one
alternative occurring (case-insensitively) in the abstracts of the papers named in `gold_keys`.

The split follows the file name (`test*.jsonl` is the test split, anything else dev) and sets the
minimums, the id prefix (q001 / t001) and how often every paper must be a gold key. The test split
also needs `must_include` strings free of LaTeX characters, and none of its questions may be a
near-copy of a dev question (Jaccard similarity of their normalised word sets >= 0.8).

The corpus is parsed crudely and independently of `qa.ingest.sources`, so a bug there cannot hide here:
every long line is an abstract; an `arXiv:<id>` at the start of a line (alone, or glued to the next
abstract) belongs to the abstract BEFORE it; abstracts are merged by the start of their normalised
text (so the two CodeElo variants become one paper with both texts).

Usage: python eval/check_gold.py [--gold eval/gold.jsonl | eval/test.jsonl] [--corpus DIR] [--list-papers]
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
DEFAULT_TEST = ROOT / "eval" / "test.jsonl"
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
TEST_MIN_TOTAL = 150
TEST_MIN_PER_CATEGORY = {
    "fact": 45,
    "which_paper": 15,
    "multi_paper": 12,
    "by_id": 8,
    "date_scoped": 10,
    "no_id": 12,
    "variant_conflict": 2,
    "paraphrase": 10,
    "unanswerable": 50,
}
NEAR_COPY_JACCARD = 0.8  # a test question this close to a dev question (normalised word sets) is a copy
EXPECTED_PAPERS, EXPECTED_WITH_ID, EXPECTED_WITHOUT_ID = 27, 19, 8
CODEELO = "arXiv:2501.01257"
ADMIN_NOTE_ID = "2408.15262"  # appears only in an admin note: not a paper of the corpus

LEADING_ID = re.compile(r"^arXiv:(\d{4}\.\d{4,5})(?:v\d+)?")
MIN_ABSTRACT_CHARS = 300  # comment lines (pages, venues, URLs, admin notes) are all far shorter
PREFIX_CHARS = 200  # abstracts starting alike are the same paper (variants differ later)


@dataclass(frozen=True)
class Split:
    """What the gold file of one split must satisfy."""

    name: str
    id_prefix: str
    min_total: int
    min_per_category: dict[str, int]
    min_per_paper: int  # times every paper of the corpus is a gold key
    plain_must_include: bool  # no LaTeX characters in must_include
    dev_gold: Path | None  # the dev file its questions must not near-copy (None: no such check)


DEV = Split("dev", "q", MIN_TOTAL, MIN_PER_CATEGORY, 1, False, None)
TEST = Split("test", "t", TEST_MIN_TOTAL, TEST_MIN_PER_CATEGORY, 3, True, DEFAULT_GOLD)


def split_for(gold: Path) -> Split:
    """The test split for eval/test.jsonl (any `test*.jsonl`), dev otherwise."""
    return TEST if gold.name.startswith("test") else DEV


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


def validate(
    gold: Path, papers: dict[str, CorpusPaper], split: Split | None = None
) -> tuple[list[str], list[dict[str, object]]]:
    split = split or split_for(gold)
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
        problems.extend(f"line {n} ({row.get('id')}): {p}" for p in check_row(row, papers, split))

    ids = Counter(str(r.get("id")) for r in rows)
    problems.extend(f"duplicate id {i!r} ({c} times)" for i, c in ids.items() if c > 1)
    questions = Counter(" ".join(_words(r.get("question"))) for r in rows)
    problems.extend(f"duplicate question {q!r} ({c} times)" for q, c in questions.items() if c > 1)
    if len(rows) < split.min_total:
        problems.append(f"only {len(rows)} questions, need at least {split.min_total} ({split.name} split)")
    cats = Counter(str(r.get("category")) for r in rows)
    for cat, least in split.min_per_category.items():
        if cats[cat] < least:
            problems.append(f"category {cat}: {cats[cat]} questions, need at least {least}")
    no_id_questions = sum(1 for r in rows if any(k.startswith("doc:") for k in _keys(r)))
    least_no_id = split.min_per_category["no_id"]
    if no_id_questions < least_no_id:
        problems.append(f"only {no_id_questions} questions cite a paper without an ID, need {least_no_id}")
    cited = Counter(k for r in rows for k in _keys(r))
    for key in sorted(papers):
        if not cited[key]:
            problems.append(f"paper {key} is never a gold key")
        elif cited[key] < split.min_per_paper:
            problems.append(f"paper {key} is a gold key {cited[key]} time(s), need at least {split.min_per_paper}")
    if split.dev_gold is not None:
        problems.extend(near_copies(rows, split.dev_gold))
    if not any(ADMIN_NOTE_ID in str(r.get("question")) and r.get("answerable") is False for r in rows):
        problems.append(f"no unanswerable question about the admin-note ID arXiv:{ADMIN_NOTE_ID}")
    return problems, rows


def _words(text: object) -> list[str]:
    """The normalised words of a question: lower case, runs of letters and digits."""
    return re.findall(r"[a-z0-9]+", normalize_text(str(text)).lower())


def jaccard(a: object, b: object) -> float:
    """Jaccard similarity of the normalised word sets of two questions."""
    wa, wb = set(_words(a)), set(_words(b))
    return len(wa & wb) / len(wa | wb) if wa | wb else 1.0


def near_copies(rows: list[dict[str, object]], dev_gold: Path, split: str = "dev") -> list[str]:
    """A problem for every question of `rows` that is a near-copy of a question of `dev_gold`."""
    dev = [json.loads(line) for line in dev_gold.read_text(encoding="utf-8").splitlines() if line.strip()]
    problems: list[str] = []
    for row in rows:
        for other in dev:
            score = jaccard(row.get("question"), other.get("question"))
            if score >= NEAR_COPY_JACCARD:
                problems.append(
                    f"{row.get('id')}: near-copy of {split} question {other.get('id')} (word Jaccard {score:.2f}): "
                    f"{row.get('question')!r} ~ {other.get('question')!r}"
                )
    return problems


def _keys(row: dict[str, object]) -> list[str]:
    keys = row.get("gold_keys")
    return [str(k) for k in keys] if isinstance(keys, list) else []


def check_row(row: dict[str, object], papers: dict[str, CorpusPaper], split: Split = DEV) -> list[str]:
    problems: list[str] = []
    fields = {"id", "question", "answer", "must_include", "gold_keys", "answerable", "category"}
    if set(row) != fields:
        problems.append(f"fields {sorted(row)} != {sorted(fields)}")
        return problems
    for name in ("id", "question", "answer", "category"):
        if not isinstance(row[name], str) or not str(row[name]).strip():
            problems.append(f"{name} must be a non-empty string")
    if not re.fullmatch(rf"{split.id_prefix}\d{{3}}", str(row["id"])):
        problems.append(f"id {row['id']!r} is not like {split.id_prefix}001 ({split.name} split)")
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
    latex = [a for g in groups for a in g if LATEX_CHARS & set(a)] if split.plain_must_include else []
    if latex:
        problems.append(f"must_include alternatives with LaTeX characters: {latex}")
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


# Conversations (eval/conversations.jsonl) and paraphrases (eval/paraphrases.jsonl)

DEFAULT_CONVERSATIONS = ROOT / "eval" / "conversations.jsonl"
DEFAULT_PARAPHRASES = ROOT / "eval" / "paraphrases.jsonl"
SPLITS = ("dev", "test")
MIN_CONVERSATIONS = {"dev": 12, "test": 20}
MIN_TURNS, MAX_TURNS = 2, 3
REWORDINGS = 2
LATEX_CHARS = set("$\\{}")
MONTH_YEAR = re.compile(
    r"\b(january|february|march|april|may|june|july|august|september|october|november|december)\s+(\d{4})\b", re.I
)
ARXIV_ID = re.compile(r"\d{4}\.\d{4,5}")


def _read_jsonl(path: Path) -> tuple[list[dict[str, object]], list[str]]:
    """The objects of a JSONL file, and a problem per line that is not one."""
    rows: list[dict[str, object]] = []
    problems: list[str] = []
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
        except json.JSONDecodeError as e:
            problems.append(f"{path.name} line {n}: invalid JSON: {e}")
            continue
        if not isinstance(row, dict):
            problems.append(f"{path.name} line {n}: not an object")
            continue
        rows.append(row)
    return rows, problems


def _occurrence_problems(
    groups: list[list[str]], keys: list[str], answer: str, papers: dict[str, CorpusPaper]
) -> list[str]:
    """The occurrence check of `check_row`: every group occurs in the gold papers' abstracts and in the answer."""
    unknown = [k for k in keys if k not in papers]
    if unknown:
        return [f"gold_keys not in the corpus: {unknown}"]
    haystack = "\n".join(papers[k].haystack for k in keys)
    problems: list[str] = []
    for group in groups:
        if not any(alt.lower() in haystack for alt in group):
            problems.append(f"no alternative of {group} occurs in the abstracts of {keys}")
        if not any(alt.lower() in answer.lower() for alt in group):
            problems.append(f"the reference answer matches no alternative of {group}")
        latex = [alt for alt in group if LATEX_CHARS & set(alt)]
        if latex:
            problems.append(f"must_include alternatives with LaTeX characters: {latex}")
    return problems


def check_turn(turn: object, papers: dict[str, CorpusPaper]) -> list[str]:
    """One turn of a conversation: the fields of a gold question minus id and category."""
    fields = {"question", "answer", "must_include", "gold_keys", "answerable"}
    if not isinstance(turn, dict) or set(turn) != fields:
        return [f"a turn must be an object with the fields {sorted(fields)}"]
    problems = [f"{name} must be a non-empty string" for name in ("question", "answer")
                if not isinstance(turn[name], str) or not turn[name].strip()]
    groups, keys, answerable = turn["must_include"], turn["gold_keys"], turn["answerable"]
    if not isinstance(answerable, bool):
        problems.append("answerable must be a boolean")
    if not (isinstance(groups, list) and all(isinstance(g, list) and g for g in groups)
            and all(isinstance(a, str) and a.strip() for g in groups for a in g)):
        problems.append("must_include must be a list of non-empty lists of non-empty strings")
        return problems
    if not (isinstance(keys, list) and all(isinstance(k, str) for k in keys)) or len(set(keys)) != len(keys):
        problems.append("gold_keys must be a list of distinct strings")
        return problems
    if answerable is False:
        if groups or keys:
            problems.append("an unanswerable turn has must_include [] and gold_keys []")
        return problems
    if not groups or not keys:
        problems.append("an answerable turn needs must_include and gold_keys")
    if problems:
        return problems
    return _occurrence_problems(groups, keys, str(turn["answer"]), papers)


def check_conversations(path: Path, papers: dict[str, CorpusPaper]) -> list[str]:
    """Schema, unique ids (dev c001-c099, test c100 and up), 2-3 turns, counts per split, every turn's gold."""
    rows, problems = _read_jsonl(path)
    splits: Counter[str] = Counter()
    refused: Counter[str] = Counter()
    for row in rows:
        cid = row.get("id")
        where = f"{path.name} {cid}"
        if set(row) != {"id", "split", "turns"}:
            problems.append(f"{where}: fields {sorted(row)} != ['id', 'split', 'turns']")
            continue
        split, turns = row["split"], row["turns"]
        if not isinstance(cid, str) or not re.fullmatch(r"c\d{3}", cid):
            problems.append(f"{where}: id is not like c001")
        if split not in SPLITS:
            problems.append(f"{where}: split {split!r} is not one of {list(SPLITS)}")
        elif isinstance(cid, str) and re.fullmatch(r"c\d{3}", cid) and (split == "dev") != (int(cid[1:]) < 100):
            problems.append(f"{where}: dev ids are c001-c099, test ids c100 and up")
        else:
            splits[str(split)] += 1
        if not isinstance(turns, list) or not MIN_TURNS <= len(turns) <= MAX_TURNS:
            problems.append(f"{where}: needs {MIN_TURNS}-{MAX_TURNS} turns")
            continue
        for n, turn in enumerate(turns, 1):
            problems.extend(f"{where} turn {n}: {p}" for p in check_turn(turn, papers))
            if isinstance(turn, dict) and turn.get("answerable") is False:
                refused[str(split)] += 1
    ids = Counter(str(r.get("id")) for r in rows)
    problems.extend(f"{path.name}: duplicate id {i!r} ({c} times)" for i, c in ids.items() if c > 1)
    for split, least in MIN_CONVERSATIONS.items():
        if splits[split] < least:
            problems.append(f"{path.name}: {splits[split]} {split} conversations, need at least {least}")
        if splits[split] and not refused[split]:
            problems.append(f"{path.name}: no unanswerable turn in the {split} conversations")
    return problems


def _same_question(a: str, b: str) -> bool:
    def norm(s: str) -> str:
        return " ".join(re.sub(r"[^\w\s.:-]", " ", s.lower()).split()).rstrip(".")

    return norm(a) == norm(b)


def check_paraphrases(path: Path, gold: Path | list[dict[str, object]]) -> list[str]:
    """Exactly two rewordings per gold question, none equal to the original or to each other, and the
    filters of the original (arXiv IDs, month and year) kept in both."""
    gold_rows = _read_jsonl(gold)[0] if isinstance(gold, Path) else gold
    questions = {str(r.get("id")): str(r.get("question")) for r in gold_rows}
    rows, problems = _read_jsonl(path)
    for row in rows:
        pid = str(row.get("id"))
        where = f"{path.name} {pid}"
        if set(row) != {"id", "rewordings"}:
            problems.append(f"{where}: fields {sorted(row)} != ['id', 'rewordings']")
            continue
        rewordings = row["rewordings"]
        if not (isinstance(rewordings, list) and len(rewordings) == REWORDINGS
                and all(isinstance(r, str) and r.strip() for r in rewordings)):
            problems.append(f"{where}: rewordings must be {REWORDINGS} non-empty strings")
            continue
        if pid not in questions:
            problems.append(f"{where}: no gold question with this id")
            continue
        original = questions[pid]
        if _same_question(rewordings[0], rewordings[1]):
            problems.append(f"{where}: the two rewordings are the same")
        for r in rewordings:
            if _same_question(r, original):
                problems.append(f"{where}: rewording {r!r} equals the original question")
            if set(ARXIV_ID.findall(r)) != set(ARXIV_ID.findall(original)):
                problems.append(f"{where}: rewording {r!r} does not keep the arXiv IDs of the original")
            if {(m.lower(), y) for m, y in MONTH_YEAR.findall(r)} != {
                (m.lower(), y) for m, y in MONTH_YEAR.findall(original)
            }:
                problems.append(f"{where}: rewording {r!r} does not keep the month and year of the original")
    ids = Counter(str(r.get("id")) for r in rows)
    problems.extend(f"{path.name}: duplicate id {i!r} ({c} times)" for i, c in ids.items() if c > 1)
    problems.extend(f"{path.name}: no rewordings of {i}" for i in questions if i not in ids)
    return problems


def check_extra_files(papers: dict[str, CorpusPaper], gold_rows: list[dict[str, object]],
                      gold: Path) -> tuple[list[str], list[str]]:
    """Problems and summary lines of the conversations and paraphrases files that exist (paraphrases only
    against the default gold file, whose questions they reword)."""
    problems: list[str] = []
    summary: list[str] = []
    if DEFAULT_CONVERSATIONS.exists():
        problems.extend(check_conversations(DEFAULT_CONVERSATIONS, papers))
        rows = _read_jsonl(DEFAULT_CONVERSATIONS)[0]
        turns = [t for r in rows for t in (r.get("turns") if isinstance(r.get("turns"), list) else [])]
        per_split = Counter(str(r.get("split")) for r in rows)
        refused = sum(1 for t in turns if isinstance(t, dict) and t.get("answerable") is False)
        summary.append(f"{len(rows)} conversations (" + ", ".join(f"{s}={per_split[s]}" for s in SPLITS)
                       + f"), {len(turns)} turns ({refused} unanswerable)")
    if DEFAULT_PARAPHRASES.exists() and gold.resolve() == DEFAULT_GOLD.resolve():
        problems.extend(check_paraphrases(DEFAULT_PARAPHRASES, gold_rows))
        rows = _read_jsonl(DEFAULT_PARAPHRASES)[0]
        if DEFAULT_TEST.exists():  # a rewording is tuned on too: it must not near-copy a held-out question
            reworded = [{"id": f"{r.get('id')} rewording", "question": text} for r in rows
                        if isinstance(r.get("rewordings"), list) for text in r["rewordings"]]
            problems.extend(near_copies(reworded, DEFAULT_TEST, "test"))
        summary.append(f"{len(rows)} paraphrased questions, "
                       f"{sum(len(r['rewordings']) for r in rows if isinstance(r.get('rewordings'), list))} rewordings")
    return problems, summary


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
    extra_problems, extra_summary = check_extra_files(papers, rows, args.gold)
    problems.extend(extra_problems)
    for problem in problems:
        print(problem, file=sys.stderr)
    cats = Counter(str(r.get("category")) for r in rows)
    summary = ", ".join(f"{c}={cats[c]}" for c in sorted(CATEGORIES))
    answerable = sum(1 for r in rows if r.get("answerable") is True)
    print(f"{split_for(args.gold).name} split: {len(rows)} questions ({answerable} answerable) "
          f"over {len(papers)} papers: {summary}")
    for line in extra_summary:
        print(line)
    print("OK" if not problems else f"FAILED: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
