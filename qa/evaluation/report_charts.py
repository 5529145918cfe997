"""The eval report's charts, drawn with matplotlib's Agg canvas on `Figure` objects (no pyplot, no global backend)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from qa.evaluation.evaluate import EvalReport
from qa.evaluation.report import RATE_METRICS, RETRIEVAL_COLUMNS

CHARTS = ("retrieval.png", "answers.png", "latency.png")


def draw_charts(report: EvalReport, figures: Mapping[str, Any], out: Path, prefix: str = "") -> list[Path]:
    """retrieval.png, answers.png and latency.png (each name after `prefix`) in `out`, from the report's summary."""
    answers = figures["answers"]
    paths = [out / f"{prefix}{name}" for name in CHARTS]
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
