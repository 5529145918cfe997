"""The eval's report: the figures of a run, its misses, the quality gate, and the files written.

`summary` sums an `EvalReport` up (what `arxiv-qa eval --json` prints); `check_thresholds` is the
gate eval/thresholds.toml sets; `write_report` writes report.md, report.json and PNG charts, drawn
with matplotlib's Agg canvas on `Figure` objects (no pyplot, no global backend).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from qa.errors import QAError
from qa.evaluate import (
    DEPTH,
    EvalReport,
    Metrics,
    QuestionResult,
    citation_scores,
    dedupe,
    includes_all,
    mean,
    missing_groups,
    percentile,
    refusal_scores,
    retrieval_metrics,
    strip_citations,
    token_f1,
)

RETRIEVAL_COLUMNS = ("hit@1", "hit@5", "recall@5", "mrr", "ndcg@10")
RATE_METRICS = ("must_include", "token_f1", "citation_precision", "citation_recall",
                "refusal_precision", "refusal_recall")
ANSWER_ROWS = (*RATE_METRICS, "fabricated_citations", "latency_p50_s", "latency_p95_s",
               "judge_correctness", "judge_pass")

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


def summary(report: EvalReport) -> dict[str, Any]:
    """The figures `arxiv-qa eval --json` prints (report.json adds the per-question details)."""
    return {
        "questions": len(report.results), "answerable": len(report.answerable()),
        "gold": str(report.gold), "store": str(report.store), "depth": DEPTH,
        "retrieval": _rounded(retrieval_summary(report)),
        "answers": _rounded({mode: answer_summary(report, mode) for mode in report.modes}),
        "misses": [vars(m) for r in report.results for m in question_misses(r, report.modes)],
        "seconds": _rounded(report.seconds),
    }


def _rounded(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return round(value, 4) if isinstance(value, float) else value


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
def write_report(report: EvalReport, out: Path) -> list[Path]:
    """Write report.md, report.json and the charts into `out` (created); the paths written."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        paths = [out / "report.md", out / "report.json"]
        paths[0].write_text(markdown(report), encoding="utf-8")
        paths[1].write_text(json.dumps(full_json(report), indent=2, ensure_ascii=False), encoding="utf-8")
        return paths + draw_charts(report, out)
    except OSError as e:
        raise QAError(f"cannot write the report to {out}: {e.strerror}") from None


def full_json(report: EvalReport) -> dict[str, Any]:
    """The summary plus every question's rankings and answers."""
    return {**summary(report), "per_question": [_question_json(r) for r in report.results]}


def _question_json(r: QuestionResult) -> dict[str, Any]:
    item = r.item
    outcomes = {
        mode: {**vars(o), "seconds": round(o.seconds, 4), "must_include_ok": includes_all(o.answer, item.must_include),
               "token_f1": round(token_f1(strip_citations(o.answer), item.answer), 4)}
        for mode, o in r.outcomes.items()
    }
    return {"id": item.id, "category": item.category, "question": item.question, "answerable": item.answerable,
            "gold_keys": item.gold_keys, "ranked": {name: keys[:10] for name, keys in r.ranked.items()},
            "outcomes": outcomes}


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    def cell(value: object) -> str:
        text = f"{value:.3f}" if isinstance(value, float) else str(value)
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]


def markdown(report: EvalReport) -> str:
    """report.md: the side-by-side tables, the charts, a breakdown by category and every miss."""
    figures = summary(report)
    retrieval, answers = figures["retrieval"], figures["answers"]
    total = sum(report.seconds.values())
    lines = [
        "# arxiv-qa evaluation", "",
        f"Gold `{report.gold}` ({figures['questions']} questions, {figures['answerable']} answerable) "
        f"against the store `{report.store}`; {total:.1f} s.", "",
        f"## Retrieval (answerable questions; papers ranked by first occurrence in the top {DEPTH} passages)", "",
        *_table(["retriever", *RETRIEVAL_COLUMNS], [[n, *(m[c] for c in RETRIEVAL_COLUMNS)]
                                                   for n, m in retrieval.items()]),
        "", "![retrieval](retrieval.png)", "", "## Answers", "",
        *_table(["metric", *answers], [[row, *(answers[m].get(row, "") for m in answers)]
                                       for row in ANSWER_ROWS if any(row in a for a in answers.values())]),
        "", "![answers](answers.png) ![latency](latency.png)", "",
        "## By category", "", *_table(*_categories(report)), "",
        f"## Misses ({len(figures['misses'])})", "",
        *_table(["id", "category", "miss", "by", "detail"],
                [[m["id"], m["category"], m["kind"], m["mode"], m["detail"]] for m in figures["misses"]]),
    ]
    return "\n".join(lines) + "\n"


def _categories(report: EvalReport) -> tuple[list[str], list[list[object]]]:
    """Per category: questions, hybrid hit@5, and each answerer's share right (answered well or refused)."""
    header = ["category", "questions", "hybrid hit@5", *(f"{m} right" for m in report.modes)]
    rows: list[list[object]] = []
    for category in sorted({r.item.category for r in report.results}):
        group = [r for r in report.results if r.item.category == category]
        hits = [float(bool(set(r.ranked.get("hybrid", [])[:5]) & set(r.item.gold_keys)))
                for r in group if r.item.answerable]
        rows.append([category, len(group), mean(hits) if hits else "-",
                     *(mean(float(_right(r, m)) for r in group if m in r.outcomes) for m in report.modes)])
    return header, rows


def _right(r: QuestionResult, mode: str) -> bool:
    o = r.outcomes[mode]
    return o.refused if not r.item.answerable else not o.refused and includes_all(o.answer, r.item.must_include)


def console_summary(report: EvalReport, written: Sequence[Path]) -> str:
    """The two side-by-side tables as plain text, and where the report went."""
    figures = summary(report)
    lines = [f"{'retriever':14}" + "".join(f"{c:>10}" for c in RETRIEVAL_COLUMNS)]
    lines += [f"{name:14}" + "".join(f"{m[c]:>10.3f}" for c in RETRIEVAL_COLUMNS)
              for name, m in figures["retrieval"].items()]
    answers = figures["answers"]
    lines += ["", f"{'answers':22}" + "".join(f"{mode:>12}" for mode in answers)]
    for row in ANSWER_ROWS:
        if any(row in a for a in answers.values()):
            lines.append(f"{row:22}" + "".join(f"{a.get(row, float('nan')):>12.3f}" for a in answers.values()))
    lines += ["", f"{len(figures['misses'])} misses; report: {', '.join(str(p) for p in written[:1])}"]
    return "\n".join(lines)


def draw_charts(report: EvalReport, out: Path) -> list[Path]:
    """retrieval.png, answers.png and latency.png in `out`."""
    figures = summary(report)
    answers = figures["answers"]
    paths = [out / "retrieval.png", out / "answers.png", out / "latency.png"]
    _bars(paths[0], "Retrieval (answerable questions)", RETRIEVAL_COLUMNS,
          {name: [m[c] for c in RETRIEVAL_COLUMNS] for name, m in figures["retrieval"].items()})
    _bars(paths[1], "Answers", RATE_METRICS, {mode: [a[c] for c in RATE_METRICS] for mode, a in answers.items()})
    _latency(paths[2], {mode: [r.outcomes[mode].seconds for r in report.results if mode in r.outcomes]
                        for mode in report.modes})
    return paths


def _bars(path: Path, title: str, metrics: Sequence[str], series: dict[str, list[float]]) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 4.5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    width = 0.8 / max(len(series), 1)
    for n, (name, values) in enumerate(series.items()):
        xs = [i + (n - (len(series) - 1) / 2) * width for i in range(len(metrics))]
        bars = ax.bar(xs, values, width, label=name)
        ax.bar_label(bars, fmt="%.2f", fontsize=7)
    ax.set_xticks(range(len(metrics)), list(metrics), rotation=15)
    ax.set_ylim(0, 1.2)
    ax.set_title(title)
    ax.legend(loc="upper center", ncols=len(series), fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def _latency(path: Path, seconds: dict[str, list[float]]) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for mode, values in seconds.items():
        ax.hist(values, bins=20, alpha=0.6, label=mode)
    ax.set_xlabel("seconds per question (QA.ask)")
    ax.set_ylabel("questions")
    ax.set_title("Answer latency")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
