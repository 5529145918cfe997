"""The eval report as text: report.md (Markdown tables per split) and the console summary of `arxiv-qa eval`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from qa.evaluation.evaluate import DEPTH, EvalReport, Metrics
from qa.evaluation.report import (
    ANSWER_ROWS,
    CONVERSATION_ROWS,
    PARAPHRASE_ROWS,
    RETRIEVAL_COLUMNS,
    chart_prefix,
    summary,
)


def _display_order(reports: Sequence[EvalReport]) -> list[EvalReport]:
    """The held-out test split first: its figures are the ones that measure generalisation."""
    return sorted(reports, key=lambda r: r.name != "test")


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    def cell(value: object) -> str:
        text = f"{value:.3f}" if isinstance(value, float) else str(value)
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]


def _title(report: EvalReport) -> str:
    return {"test": "Test split (held out)", "dev": "Dev split (what rules may be tuned on)"}.get(
        report.name, f"Split {report.name}")


def markdown(reports: EvalReport | Sequence[EvalReport]) -> str:
    """report.md: per split, the side-by-side tables, the charts, a breakdown by category and every miss."""
    reports = [reports] if isinstance(reports, EvalReport) else list(reports)
    lines = ["# arxiv-qa evaluation", ""]
    for r in _display_order(reports):
        lines += _split_markdown(r, chart_prefix(r, reports))
    return "\n".join(lines)


def _split_markdown(report: EvalReport, prefix: str) -> list[str]:
    figures = summary(report)
    retrieval, answers = figures["retrieval"], figures["answers"]
    talks = f", {len(report.conversations)} conversations" if report.conversations else ""
    return [
        f"## {_title(report)}", "",
        f"Gold `{report.gold}` ({figures['questions']} questions, {figures['answerable']} answerable{talks}) "
        f"against the store `{report.store}`; {sum(report.seconds.values()):.1f} s.", "",
        f"### Retrieval (answerable questions; papers ranked by first occurrence in the top {DEPTH} passages)", "",
        *_table(["retriever", *RETRIEVAL_COLUMNS], _retrieval_rows(retrieval)),
        "", f"![retrieval]({prefix}retrieval.png)", "", "### Answers", "",
        *_table(["metric", *answers], _metric_rows(answers, ANSWER_ROWS)),
        "", f"![answers]({prefix}answers.png) ![latency]({prefix}latency.png)", "",
        "### By category", "", *_table(*_category_rows(figures, report.modes)), "",
        *_extra_markdown(figures),
        f"### Misses ({len(figures['misses'])})", "",
        *_table(["id", "category", "miss", "by", "detail"],
                [[m["id"], m["category"], m["kind"], m["mode"], m["detail"]] for m in figures["misses"]]), "",
    ]


def _extra_markdown(figures: Mapping[str, Any]) -> list[str]:
    lines: list[str] = []
    if figures["conversations"]:
        lines += ["### Conversations (multi-turn, through `QA.ask(question, history=...)`)", "",
                  *_table(["metric", *figures["conversations"]], _metric_rows(figures["conversations"],
                                                                              CONVERSATION_ROWS)), ""]
    if figures.get("paraphrases"):
        lines += ["### Paraphrase consistency (each question and its two rewordings)", "",
                  *_table(["metric", *figures["paraphrases"]], _metric_rows(figures["paraphrases"],
                                                                            PARAPHRASE_ROWS)), ""]
    return lines


def _retrieval_rows(retrieval: Mapping[str, Metrics]) -> list[list[object]]:
    return [[name, *(m[c] for c in RETRIEVAL_COLUMNS)] for name, m in retrieval.items()]


def _metric_rows(per_mode: Mapping[str, Mapping[str, float]], rows: Sequence[str]) -> list[list[object]]:
    """One row per metric (those any answerer has), one column per answerer."""
    return [[row, *(m.get(row, "") for m in per_mode.values())] for row in rows
            if any(row in m for m in per_mode.values())]


def _category_rows(figures: Mapping[str, Any], modes: Sequence[str]) -> tuple[list[str], list[list[object]]]:
    """Per category: questions, hybrid hit@5, and each answerer's share right (answered well or refused)."""
    header = ["category", "questions", "hybrid hit@5", *(f"{m} right" for m in modes)]
    rows: list[list[object]] = [[name, c["questions"], "-" if c["hybrid_hit@5"] is None else c["hybrid_hit@5"],
                                 *(c["right"].get(m, "") for m in modes)] for name, c in figures["categories"].items()]
    return header, rows


def console_summary(reports: EvalReport | Sequence[EvalReport], written: Sequence[Path]) -> str:
    """Per split (test first), the tables as plain text; then where the report went."""
    reports = [reports] if isinstance(reports, EvalReport) else list(reports)
    blocks = ["\n".join(_console_split(r)) for r in _display_order(reports)]
    return "\n\n".join([*blocks, f"report: {', '.join(str(p) for p in written[:1])}"])


def _console_split(report: EvalReport) -> list[str]:
    figures = summary(report)
    talks = f", {len(report.conversations)} conversations" if report.conversations else ""
    lines = [f"== {_title(report)}: {report.gold}, {figures['questions']} questions "
             f"({figures['answerable']} answerable){talks} ==",
             *_text_table(["retriever", *RETRIEVAL_COLUMNS], _retrieval_rows(figures["retrieval"])), ""]
    lines += _text_table(["answers", *figures["answers"]], _metric_rows(figures["answers"], ANSWER_ROWS))
    lines += ["", *_text_table(*_category_rows(figures, report.modes))]
    if figures["conversations"]:
        lines += ["", *_text_table(["conversations", *figures["conversations"]],
                                   _metric_rows(figures["conversations"], CONVERSATION_ROWS))]
    if figures.get("paraphrases"):
        lines += ["", *_text_table(["paraphrases", *figures["paraphrases"]],
                                   _metric_rows(figures["paraphrases"], PARAPHRASE_ROWS))]
    return [*lines, "", f"{len(figures['misses'])} misses"]


def _text_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    def cell(value: object) -> str:
        return f"{value:>14.3f}" if isinstance(value, float) else f"{value!s:>14}"

    return [f"{header[0]:22}" + "".join(f"{h:>14}" for h in header[1:])] + [
        f"{row[0]!s:22}" + "".join(cell(v) for v in row[1:]) for row in rows]
