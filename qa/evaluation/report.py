"""The eval's report: the figures of a run, its misses, the quality gate, and the files written.

`summary` sums one split's `EvalReport` up and `summaries` several (what `arxiv-qa eval --json`
prints); `gate` and `check_thresholds` are the gate eval/thresholds.toml sets; `write_report` writes
report.md, report.json and the charts of `qa.evaluation.report_charts`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from qa.errors import QAError
from qa.evaluation.evaluate import (
    DEPTH,
    EvalReport,
    Metrics,
    QuestionResult,
    citation_scores,
    dedupe,
    hit_at,
    includes_all,
    mean,
    missing_groups,
    percentile,
    refusal_scores,
    retrieval_metrics,
    strip_citations,
    token_f1,
)
from qa.evaluation.evaluate_turns import (
    ConversationResult,
    ParaphraseResult,
    conversation_summary,
    is_right,
    paraphrase_summary,
    paraphrase_verdicts,
    turn_verdicts,
    wrong_because,
)

RETRIEVAL_COLUMNS = ("hit@1", "hit@5", "recall@5", "mrr", "ndcg@10")
RATE_METRICS = ("must_include", "token_f1", "citation_precision", "citation_recall",
                "refusal_precision", "refusal_recall")
ANSWER_ROWS = (*RATE_METRICS, "fabricated_citations", "latency_p50_s", "latency_p95_s",
               "judge_correctness", "judge_pass")
CONVERSATION_ROWS = ("conversations", "turns", "turn_accuracy", "conversation_accuracy", "follow_up_accuracy",
                     "refusal_recall")
PARAPHRASE_ROWS = ("questions", "consistent", "right_original", "right_reworded")

JUDGE_PASS = 4.0  # CorrectnessEvaluator's own passing score (of 1-5)


# --- the figures --------------------------------------------------------------------------------
def retrieval_summary(report: EvalReport) -> dict[str, Metrics]:
    """Mean retrieval metrics per retriever, over the answerable questions."""
    rows = report.answerable()
    names = dedupe(name for r in rows for name in r.ranked)
    per = {name: [retrieval_metrics(r.ranked[name], r.item.gold_keys) for r in rows] for name in names}
    return {name: {m: mean(x[m] for x in scores) for m in scores[0]} for name, scores in per.items()}


def answer_summary(report: EvalReport, mode: str) -> Metrics:
    """The answer metrics of one answerer (see eval/README.md)."""
    pairs = [(r.item, r.outcomes[mode]) for r in report.results if mode in r.outcomes]
    answerable = [(i, o) for i, o in pairs if i.answerable]
    cites = [citation_scores(o.cited, i.gold_keys) for i, o in answerable if not o.refused]
    precision, recall = refusal_scores((i.answerable, o.refused) for i, o in pairs)
    seconds = [o.seconds for _, o in pairs]
    metrics: Metrics = {
        "must_include": mean(float(includes_all(o.answer, i.must_include)) for i, o in answerable),
        "token_f1": mean(token_f1(strip_citations(o.answer), i.answer) for i, o in answerable),
        "citation_precision": mean(p for p, _ in cites), "citation_recall": mean(r for _, r in cites),
        "fabricated_citations": sum(o.fabricated for _, o in pairs),
        "refusal_precision": precision, "refusal_recall": recall,
        "latency_p50_s": percentile(seconds, 50), "latency_p95_s": percentile(seconds, 95),
    }
    judged = [o.judge for _, o in pairs if o.judge is not None]
    if judged:
        metrics["judge_correctness"] = mean(judged)
        metrics["judge_pass"] = mean(float(j >= JUDGE_PASS) for j in judged)
    return metrics


@dataclass(frozen=True)
class Miss:
    """One way one question went wrong (a row of the report's table of misses)."""

    id: str
    category: str
    kind: str  # retrieval@5 | must_include | wrong_refusal | missing_citation | fabricated_citation
    mode: str  # the answerer, or "hybrid" for a retrieval miss
    detail: str


def question_misses(result: QuestionResult, modes: Sequence[str]) -> list[Miss]:
    """The misses of one question (a refused answerable question is only a wrong refusal)."""
    item, out = result.item, []
    miss = partial(Miss, item.id, item.category)
    top = result.ranked.get("hybrid", [])[:5]
    if item.answerable and "hybrid" in result.ranked and not set(top) & set(item.gold_keys):
        out.append(miss("retrieval@5", "hybrid", f"gold {', '.join(item.gold_keys)}; top 5: {', '.join(top)}"))
    for mode in (m for m in modes if m in result.outcomes):
        o = result.outcomes[mode]
        said = f"answer: {' '.join(o.answer.split())[:160]}"
        if item.answerable == o.refused:
            out.append(miss("wrong_refusal", mode, "refused an answerable question" if o.refused else said))
        elif item.answerable:
            lost = missing_groups(o.answer, item.must_include)
            if lost:
                out.append(miss("must_include", mode, f"lacks {' / '.join('|'.join(g) for g in lost)}; {said}"))
            absent = [k for k in item.gold_keys if k not in o.cited]
            if absent:
                out.append(miss("missing_citation", mode, f"uncited {', '.join(absent)}; cited {', '.join(o.cited)}"))
        if o.fabricated:
            out.append(miss("fabricated_citation", mode, f"{o.fabricated} invented citation(s) removed"))
    return out


def turn_misses(result: ConversationResult, modes: Sequence[str]) -> list[Miss]:
    """The wrong turns of one conversation, as misses with ids like c001/2 (the second turn)."""
    conversation, out = result.conversation, []
    for mode in (m for m in modes if m in result.outcomes):
        for n, (turn, o) in enumerate(zip(conversation.turns, result.outcomes[mode], strict=True), 1):
            why = wrong_because(turn.answerable, turn.must_include, o)
            if why:
                out.append(Miss(f"{conversation.id}/{n}", "conversation", "turn", mode, f"{turn.question} -> {why}"))
    return out


def paraphrase_misses(result: ParaphraseResult, modes: Sequence[str]) -> list[Miss]:
    """A question whose rewordings do not all get the verdict of the original."""
    item, out = result.original.item, []
    for mode in (m for m in modes if m in result.outcomes):
        verdicts = paraphrase_verdicts(result, mode)
        if len(set(verdicts)) > 1:
            said = "; ".join(f"{'right' if v else 'WRONG'}: {q}"
                             for v, q in zip(verdicts, [item.question, *result.rewordings], strict=True))
            out.append(Miss(item.id, item.category, "paraphrase", mode, said))
    return out


def all_misses(report: EvalReport) -> list[Miss]:
    """Every miss of a split: questions, conversation turns, then inconsistent rewordings."""
    return ([m for r in report.results for m in question_misses(r, report.modes)]
            + [m for c in report.conversations for m in turn_misses(c, report.modes)]
            + [m for p in report.paraphrases for m in paraphrase_misses(p, report.modes)])


def category_summary(report: EvalReport) -> dict[str, dict[str, Any]]:
    """Per category: questions, hybrid hit@5 (None without answerable ones) and each answerer's share right."""
    out: dict[str, dict[str, Any]] = {}
    for category in sorted({r.item.category for r in report.results}):
        group = [r for r in report.results if r.item.category == category]
        hits = [hit_at(r.ranked["hybrid"], r.item.gold_keys, 5) for r in group
                if r.item.answerable and "hybrid" in r.ranked]
        right = {m: mean(float(_right(r, m)) for r in group if m in r.outcomes) for m in report.modes}
        out[category] = {"questions": len(group), "hybrid_hit@5": mean(hits) if hits else None, "right": right}
    return out


def _right(r: QuestionResult, mode: str) -> bool:
    return is_right(r.item.answerable, r.item.must_include, r.outcomes[mode])


def summary(report: EvalReport) -> dict[str, Any]:
    """The figures of one split `arxiv-qa eval --json` prints (report.json adds the per-question details)."""
    figures = {
        "split": report.name, "questions": len(report.results), "answerable": len(report.answerable()),
        "gold": str(report.gold), "store": str(report.store), "depth": DEPTH,
        "retrieval": _rounded(retrieval_summary(report)),
        "answers": _rounded({mode: answer_summary(report, mode) for mode in report.modes}),
        "categories": _rounded(category_summary(report)),
        "conversations": _rounded({mode: conversation_summary(report.conversations, mode)
                                   for mode in report.modes if report.conversations}),
        "misses": [vars(m) for m in all_misses(report)],
        "seconds": _rounded(report.seconds),
    }
    if report.paraphrases:
        figures["paraphrases"] = _rounded({mode: paraphrase_summary(report.paraphrases, mode) for mode in report.modes})
    return figures


def summaries(reports: Sequence[EvalReport]) -> dict[str, Any]:
    """One split's summary, or for several `{"split": "all", "splits": {name: summary}}`."""
    if len(reports) == 1:
        return summary(reports[0])
    return {"split": "all", "splits": {r.name: summary(r) for r in reports}}


def _rounded(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return round(value, 4) if isinstance(value, float) else value


def gate(figures: Mapping[str, Any], thresholds: Mapping[str, Any]) -> list[str]:
    """The thresholds (one table per split, as in eval/thresholds.toml) a summary breaks, one line each.

    A `summaries` of all splits is checked against every table, one split's summary against its own.

    >>> gate({"split": "dev", "answers": {"x": 0.5}}, {"dev": {"answers": {"x": 0.6}}, "test": {"y": 1}})
    ['dev.answers.x = 0.5 < 0.6']
    """
    if figures.get("split") == "all":
        return check_thresholds(figures["splits"], thresholds)
    name = figures.get("split", "")
    return check_thresholds({name: figures}, {name: thresholds.get(name, {})})


def check_thresholds(figures: Mapping[str, Any], thresholds: Mapping[str, Any], path: str = "",
                     maximum: bool = False) -> list[str]:
    """The thresholds `figures` (a summary) breaks, one line each (none: the gate passes).

    Numbers are minimums, except inside a `max` table, where they are maximums.

    >>> check_thresholds({"a": {"x": 0.9, "t": 2.0}}, {"a": {"x": 0.95, "max": {"t": 3.0}}, "b": {"y": 1}})
    ['a.x = 0.9 < 0.95', 'b.y was not measured']
    """
    failures: list[str] = []
    for key, limit in thresholds.items():
        name = f"{path}{key}"
        if isinstance(limit, Mapping):
            inner = figures if key == "max" else figures.get(key)
            prefix = path if key == "max" else f"{name}."
            failures += check_thresholds(inner if isinstance(inner, Mapping) else {}, limit, prefix,
                                         maximum or key == "max")
            continue
        value = figures.get(key)
        if not isinstance(value, int | float):
            failures.append(f"{name} was not measured")
        elif maximum and value > limit:
            failures.append(f"{name} = {value:g} > {limit:g}")
        elif not maximum and value < limit:
            failures.append(f"{name} = {value:g} < {limit:g}")
    return failures


# --- the files ----------------------------------------------------------------------------------
def write_report(reports: EvalReport | Sequence[EvalReport], out: Path) -> list[Path]:
    """Write report.md, report.json and each split's charts into `out` (created); the paths written.

    With several splits, each chart's name starts with its split's (test-retrieval.png).
    """
    from qa.evaluation.report_charts import draw_charts
    from qa.evaluation.report_text import markdown

    reports = [reports] if isinstance(reports, EvalReport) else list(reports)
    try:
        out.mkdir(parents=True, exist_ok=True)
        paths = [out / "report.md", out / "report.json"]
        paths[0].write_text(markdown(reports), encoding="utf-8")
        paths[1].write_text(json.dumps(full_json(reports), indent=2, ensure_ascii=False), encoding="utf-8")
        for r in reports:
            paths += draw_charts(r, summary(r), out, chart_prefix(r, reports))
        return paths
    except OSError as e:
        raise QAError(f"cannot write the report to {out}: {e.strerror}") from None


def chart_prefix(report: EvalReport, reports: Sequence[EvalReport]) -> str:
    """What each chart's file name starts with: the split's name when there are several."""
    return f"{report.name}-" if len(reports) > 1 else ""


def full_json(reports: EvalReport | Sequence[EvalReport]) -> dict[str, Any]:
    """The summary plus every question's rankings and answers, every conversation's and rewording's answers."""
    reports = [reports] if isinstance(reports, EvalReport) else list(reports)
    if len(reports) == 1:
        return _split_json(reports[0])
    return {"split": "all", "splits": {r.name: _split_json(r) for r in reports}}


def _split_json(report: EvalReport) -> dict[str, Any]:
    figures = {**summary(report), "per_question": [_question_json(r) for r in report.results]}
    if report.conversations:
        figures["per_conversation"] = [_conversation_json(c) for c in report.conversations]
    if report.paraphrases:
        figures["per_paraphrase"] = [_paraphrase_json(p) for p in report.paraphrases]
    return figures


def _question_json(r: QuestionResult) -> dict[str, Any]:
    item = r.item
    outcomes = {
        mode: {**vars(o), "seconds": round(o.seconds, 4), "must_include_ok": includes_all(o.answer, item.must_include),
               "token_f1": round(token_f1(strip_citations(o.answer), item.answer), 4), "right": _right(r, mode)}
        for mode, o in r.outcomes.items()
    }
    return {"id": item.id, "category": item.category, "question": item.question, "answerable": item.answerable,
            "gold_keys": item.gold_keys, "ranked": {name: keys[:10] for name, keys in r.ranked.items()},
            "outcomes": outcomes}


def _conversation_json(c: ConversationResult) -> dict[str, Any]:
    turns = [{"question": t.question, "answerable": t.answerable,
              "outcomes": {mode: {"answer": found[n].answer, "refused": found[n].refused, "cited": found[n].cited}
                           for mode, found in c.outcomes.items()}}
             for n, t in enumerate(c.conversation.turns)]
    return {"id": c.conversation.id, "turns": turns, "right": {mode: turn_verdicts(c, mode) for mode in c.outcomes}}


def _paraphrase_json(p: ParaphraseResult) -> dict[str, Any]:
    outcomes = {mode: [{"answer": o.answer, "refused": o.refused} for o in found] for mode, found in p.outcomes.items()}
    return {"id": p.original.item.id, "rewordings": p.rewordings, "outcomes": outcomes,
            "right": {mode: paraphrase_verdicts(p, mode) for mode in p.outcomes}}


