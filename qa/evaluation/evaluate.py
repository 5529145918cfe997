"""Evaluation against gold answers: the metrics, and one run that scores retrieval and answers.

Retrieval is scored per paper: a retriever's passages become a ranking of papers by first occurrence,
and a paper is relevant when it is one of the question's `gold_keys`. Answers are scored on their
must-include phrases, token F1 against the reference answer, their citations against the gold keys,
and their refusals. `qa.evaluation.baseline` is the plain LlamaIndex recipe the retrievers are compared with;
`qa.evaluation.report` sums the results up, checks them against the thresholds and writes them;
`qa.evaluation.evaluate_turns` adds the splits, the multi-turn conversations and the paraphrase consistency.
eval/README.md explains every number.
"""

from __future__ import annotations

import json
import math
import re
import string
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from qa.answer.citations import BRACKET_RE
from qa.answer.engine import QA
from qa.errors import BadInput
from qa.evaluation.judge import Judge, require_llm
from qa.index.store import Store
from qa.index.writer import Writer
from qa.settings import Settings

if TYPE_CHECKING:
    from qa.answer.chat import Message
    from qa.evaluation.baseline import Baseline
    from qa.evaluation.evaluate_turns import ConversationResult, ParaphraseResult

Log = Callable[[str], None]
Metrics = dict[str, float]

RETRIEVERS = ("bm25", "dense", "hybrid")
DEPTH = 20  # passages each retriever returns for the retrieval metrics (at most 2 per paper)


# --- metrics: small pure functions --------------------------------------------------------------
def dedupe(keys: Iterable[str]) -> list[str]:
    """Keys in order of first occurrence (passages -> a ranking of papers).

    >>> dedupe(["a", "b", "a", "c", "b"])
    ['a', 'b', 'c']
    """
    return list(dict.fromkeys(keys))


def hit_at(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    """1.0 when a relevant paper is among the first `k`, else 0.0.

    >>> hit_at(["a", "b", "c"], {"c"}, 2), hit_at(["a", "b", "c"], {"c"}, 3)
    (0.0, 1.0)
    """
    return float(any(key in relevant for key in ranked[:k]))


def recall_at(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Share of the relevant papers found among the first `k` (0.0 when nothing is relevant).

    >>> recall_at(["a", "b", "c"], {"a", "c"}, 2)
    0.5
    """
    return len(set(ranked[:k]) & set(relevant)) / len(relevant) if relevant else 0.0


def reciprocal_rank(ranked: Sequence[str], relevant: Collection[str], k: int = 10) -> float:
    """1 / the rank of the first relevant paper among the first `k`; 0.0 when there is none.

    >>> reciprocal_rank(["a", "b", "c"], {"b", "c"})
    0.5
    >>> reciprocal_rank(["a", "b"], {"z"})
    0.0
    """
    return next((1.0 / rank for rank, key in enumerate(ranked[:k], 1) if key in relevant), 0.0)


def ndcg_at(ranked: Sequence[str], relevant: Collection[str], k: int = 10) -> float:
    """Normalised discounted cumulative gain with binary relevance over the first `k` (unique keys).

    >>> ndcg_at(["a", "b"], {"a"})
    1.0
    >>> round(ndcg_at(["x", "a"], {"a"}), 4)
    0.6309
    >>> ndcg_at(["x"], set())
    0.0
    """
    dcg = sum(1.0 / math.log2(rank + 1) for rank, key in enumerate(ranked[:k], 1) if key in relevant)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(len(relevant), k) + 1))
    return dcg / ideal if ideal else 0.0


def normalize_answer(text: str) -> str:
    """SQuAD's normalisation: lower case, no punctuation, no articles, single spaces.

    >>> normalize_answer("The Qwen3 series offers 0.6B, 4B and 8B models!")
    'qwen3 series offers 06b 4b and 8b models'
    """
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(re.sub(r"\b(a|an|the)\b", " ", text).split())


_PUNCTUATION = set(string.punctuation)


def token_f1(prediction: str, reference: str) -> float:
    """SQuAD token F1 of two texts after `normalize_answer` (1.0 when both are empty).

    >>> token_f1("Qwen3 supports 119 languages.", "Qwen3 supports 119 languages and dialects.")
    0.8
    >>> token_f1("", "something"), token_f1("", "")
    (0.0, 1.0)
    """
    pred, ref = normalize_answer(prediction).split(), normalize_answer(reference).split()
    if not pred or not ref:
        return float(pred == ref)
    same = sum((Counter(pred) & Counter(ref)).values())
    if not same:
        return 0.0
    precision, recall = same / len(pred), same / len(ref)
    return 2 * precision * recall / (precision + recall)


def strip_citations(text: str) -> str:
    """An answer without its bracketed citations (they are scored separately).

    >>> strip_citations("It has 119 languages [arXiv:2505.09388].")
    'It has 119 languages .'
    """
    return BRACKET_RE.sub("", text)


def missing_groups(answer: str, groups: Sequence[Sequence[str]]) -> list[list[str]]:
    """The must-include groups none of whose alternatives occurs (case-insensitively) in `answer`.

    >>> missing_groups("Sizes: 0.6B, 4B and 8B", [["0.6B"], ["4b"], ["14B", "8B"], ["32B"]])
    [['32B']]
    """
    low = answer.lower()
    return [list(group) for group in groups if not any(alt.lower() in low for alt in group)]


def includes_all(answer: str, groups: Sequence[Sequence[str]]) -> bool:
    """Does every must-include group have an alternative in `answer`?

    >>> includes_all("1578 and 1261", [["1578"], ["1261"]]), includes_all("1578", [["1578"], ["1261"]])
    (True, False)
    """
    return not missing_groups(answer, groups)


def citation_scores(cited: Collection[str], gold: Collection[str]) -> tuple[float, float]:
    """Precision and recall of the cited keys against the gold keys (0.0 for an empty side).

    >>> citation_scores(["a", "b"], ["a"])
    (0.5, 1.0)
    >>> citation_scores([], ["a"])
    (0.0, 0.0)
    """
    right = len(set(cited) & set(gold))
    return (right / len(set(cited)) if cited else 0.0, right / len(set(gold)) if gold else 0.0)


def refusal_scores(pairs: Iterable[tuple[bool, bool]]) -> tuple[float, float]:
    """Precision and recall of refusing, from (answerable, refused) pairs.

    The positive class is "an unanswerable question, refused". Precision is 1.0 when nothing
    was refused (no wrong refusal), recall is 1.0 when no question is unanswerable.

    >>> refusal_scores([(False, True), (False, False), (True, True), (True, False)])
    (0.5, 0.5)
    >>> refusal_scores([(True, False)])
    (1.0, 1.0)
    """
    pairs = list(pairs)
    right = sum(1 for answerable, refused in pairs if refused and not answerable)
    refused = sum(1 for _, r in pairs if r)
    unanswerable = sum(1 for a, _ in pairs if not a)
    return (right / refused if refused else 1.0, right / unanswerable if unanswerable else 1.0)


def percentile(values: Sequence[float], q: float) -> float:
    """The `q`-th percentile (0-100), interpolated linearly between ranks (numpy's default); 0.0 if empty.

    >>> percentile([4, 1, 3, 2], 50)
    2.5
    >>> percentile([5.0], 95), percentile([], 50)
    (5.0, 0.0)
    """
    if not values:
        return 0.0
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def mean(values: Iterable[float]) -> float:
    """The arithmetic mean; 0.0 for no values.

    >>> mean([1, 0, 1, 1]), mean([])
    (0.75, 0.0)
    """
    xs = list(values)
    return sum(xs) / len(xs) if xs else 0.0


def retrieval_metrics(ranked: Sequence[str], relevant: Collection[str]) -> Metrics:
    """Every retrieval metric of one question."""
    return {"hit@1": hit_at(ranked, relevant, 1), "hit@5": hit_at(ranked, relevant, 5),
            "recall@5": recall_at(ranked, relevant, 5), "mrr": reciprocal_rank(ranked, relevant, 10),
            "ndcg@10": ndcg_at(ranked, relevant, 10)}


# --- gold questions -----------------------------------------------------------------------------
@dataclass(frozen=True)
class GoldItem:
    """One hand-written question with its reference answer (a line of eval/gold.jsonl)."""

    id: str
    question: str
    answer: str
    must_include: list[list[str]]
    gold_keys: list[str]
    answerable: bool
    category: str


T = TypeVar("T")


def read_rows(path: Path, what: str, make: Callable[[dict[str, Any]], T]) -> list[T]:
    """The objects of a JSONL file made by `make`; BadInput naming the first bad line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise BadInput(f"{path}: cannot read the {what} file ({e})") from None
    rows = []
    for n, line in enumerate(lines, 1):
        if line.strip():
            try:
                rows.append(make(json.loads(line)))
            except (json.JSONDecodeError, KeyError, TypeError) as e:
                raise BadInput(f"{path}: line {n} is not a {what} item ({e!r})") from None
    return rows


def load_gold(path: Path) -> list[GoldItem]:
    """The questions of a gold JSONL file; BadInput naming the first bad line."""
    items = read_rows(path, "gold", lambda row: GoldItem(**row))
    if not items:
        raise BadInput(f"{path}: no gold questions")
    return items


# --- one run ------------------------------------------------------------------------------------
@dataclass
class Outcome:
    """One answer to one gold question, as scored."""

    answer: str
    refused: bool
    cited: list[str]
    fabricated: int
    seconds: float
    judge: float | None = None  # LLM-judge correctness, 1-5


@dataclass
class QuestionResult:
    """A gold question with each retriever's ranking of papers and each answerer's outcome."""

    item: GoldItem
    ranked: dict[str, list[str]] = field(default_factory=dict)
    outcomes: dict[str, Outcome] = field(default_factory=dict)


@dataclass
class EvalReport:
    """Everything one eval run measured (`qa.evaluation.report` sums it up and writes it)."""

    gold: Path
    store: Path
    results: list[QuestionResult]
    modes: list[str]
    seconds: dict[str, float] = field(default_factory=dict)
    split: str = ""  # dev | test, or the gold file's name
    conversations: list[ConversationResult] = field(default_factory=list)
    paraphrases: list[ParaphraseResult] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The split's name: `split`, else the gold file's stem."""
        return self.split or self.gold.stem

    def answerable(self) -> list[QuestionResult]:
        """The results of the answerable questions (those retrieval is scored on)."""
        return [r for r in self.results if r.item.answerable]


class Evaluator:
    """Runs the gold questions through the retrievers, the baseline and the answerers of one store."""

    def __init__(self, settings: Settings, store: Store, log: Log | None = None) -> None:
        self.settings = settings
        self.store = store
        self.engine = QA(settings, store)
        self.log = log or (lambda message: None)

    def modes(self, modes: Sequence[str] | None = None) -> list[str]:
        """The answerers to score: `modes`, else extractive, plus llm when an LLM is configured."""
        return list(modes or (["extractive", "llm"] if self.settings.llm_configured else ["extractive"]))

    def run(self, gold: Sequence[GoldItem], gold_path: Path, modes: Sequence[str] | None = None,
            judge: bool = False) -> EvalReport:
        """Score every question; `modes` defaults to extractive, plus llm when an LLM is configured."""
        require_llm(self.settings, judge)
        self._warn_unknown_keys(gold)
        report = EvalReport(gold_path, self.store.root, [QuestionResult(item) for item in gold], self.modes(modes))
        self._timed(report, "retrieval", self._retrieve, report.answerable())
        self._timed(report, "baseline", self._baseline, report.answerable())
        for mode in report.modes:
            self._timed(report, f"answers_{mode}", partial(self._answer, mode=mode), report.results)
        if judge:
            self._timed(report, "judge", self._judge, report.results)
        return report

    def retrieval_only(self, gold: Sequence[GoldItem], gold_path: Path) -> EvalReport:
        """Only the retrievers' rankings of the answerable questions (no baseline, no answers)."""
        report = EvalReport(gold_path, self.store.root, [QuestionResult(item) for item in gold], [])
        self._timed(report, "retrieval", self._retrieve, report.answerable())
        return report

    def outcome(self, question: str, mode: str, history: Sequence[Message] = ()) -> Outcome:
        """One answer by one answerer, timed (models loaded first: latency is of answering, not starting)."""
        _ = self.engine.warm
        start = time.perf_counter()
        a = self.engine.ask(question, history=history, mode=mode)
        return Outcome(a.answer, a.refused, [c.key for c in a.citations], a.fabricated_citations,
                       time.perf_counter() - start)

    def _timed(self, report: EvalReport, stage: str, step: Callable[[list[QuestionResult]], None],
               rows: list[QuestionResult]) -> None:
        start = time.perf_counter()
        step(rows)
        report.seconds[stage] = time.perf_counter() - start

    def _warn_unknown_keys(self, gold: Sequence[GoldItem]) -> None:
        unknown = sorted({k for item in gold for k in item.gold_keys if self.store.paper(k) is None})
        if unknown:
            self.log(f"warning: {len(unknown)} gold key(s) are not in the store, e.g. {unknown[0]}")

    def _retrieve(self, rows: list[QuestionResult]) -> None:
        self.log(f"retrieval: {', '.join(RETRIEVERS)} on {len(rows)} answerable questions")
        for r in rows:
            for method in RETRIEVERS:
                found = self.engine.retriever.retrieve(r.item.question, DEPTH, method=method)
                r.ranked[method] = dedupe(p.chunk.doc_key for p in found.passages)

    @cached_property
    def baseline(self) -> Baseline:
        """The plain LlamaIndex recipe over the store's source files, built once per evaluator."""
        from qa.evaluation.baseline import Baseline

        return Baseline.for_store(self.store)

    def _baseline(self, rows: list[QuestionResult]) -> None:
        from qa.evaluation.baseline import ranking

        baseline = self.baseline
        self.log(f"baseline: plain LlamaIndex recipe over {len(baseline.files)} file(s)")
        for r in rows:
            nodes = baseline.node_papers(r.item.question, DEPTH)
            r.ranked["baseline"] = ranking(nodes)
            r.ranked["baseline_all"] = ranking(nodes, every=True)

    def _answer(self, rows: list[QuestionResult], mode: str) -> None:
        self.log(f"answers ({mode}): {len(rows)} questions")
        for r in rows:
            r.outcomes[mode] = self.outcome(r.item.question, mode)

    def _judge(self, rows: list[QuestionResult]) -> None:
        judge = Judge(self.settings)
        try:
            for mode in dedupe(m for r in rows for m in r.outcomes):
                self.log(f"judge ({mode}): {len(rows)} answers")
                for r in rows:
                    o = r.outcomes[mode]
                    o.judge = judge.score(r.item.question, o.answer, r.item.answer)
        finally:
            judge.close()


def evaluate_store(settings: Settings, gold_path: Path, judge: bool = False, log: Log | None = None,
                   modes: Sequence[str] | None = None) -> EvalReport:
    """The whole eval of one gold file against the store of `settings` (filled from the bundled corpus if empty)."""
    require_llm(settings, judge)
    gold = load_gold(gold_path)
    return Evaluator(settings, open_store(settings, log), log).run(gold, gold_path, modes, judge)


def open_store(settings: Settings, log: Log | None = None) -> Writer:
    """The store of `settings`, the bundled sample corpus ingested first when it is empty."""
    store = Writer(settings)
    if store.is_empty():
        from qa.ingest import ingest

        (log or (lambda message: None))(f"the store {store.root} is empty: ingesting the bundled sample corpus first")
        ingest(store)
    return store
