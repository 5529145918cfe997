"""What the page's controls hold, parsed: the months of the date filter, the answer modes.

Bad input raises `qa.errors.BadInput`, which the page shows as a short message.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from qa.errors import BadInput
from qa.papers import id_month
from qa.settings import Settings

ANY_MONTH = "any"
_MONTH_RE = re.compile(r"^\s*(\d{4})[-/.]?(\d{1,2})\s*$")


def parse_month(value: str | None, which: str = "month") -> int | None:
    """A month as YYYYMM, or None for no limit.

    >>> parse_month("2025-05")
    202505
    >>> parse_month("any") is None
    True
    """
    if value is None or not value.strip() or value.strip().lower() == ANY_MONTH:
        return None
    m = _MONTH_RE.match(value)
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise BadInput(f"{which}: {value.strip()!r} is not a month (YYYY-MM)")
    return int(m.group(1)) * 100 + int(m.group(2))


def month_range(start: str | None, end: str | None) -> tuple[int | None, int | None]:
    """The (from, to) months of the date filter; BadInput if from is after to."""
    months = parse_month(start, "from"), parse_month(end, "to")
    if months[0] is not None and months[1] is not None and months[0] > months[1]:
        raise BadInput("the 'from' month is after the 'to' month")
    return months


def month_span(arxiv_ids: Iterable[str]) -> str:
    """The months the corpus's new-style arXiv IDs cover, as a hint: "2024-07 to 2025-08" ("" if none)."""
    months = sorted(d.strftime("%Y-%m") for d in map(id_month, arxiv_ids) if d is not None)
    return f"{months[0]} to {months[-1]}" if months else ""


def mode_choices(settings: Settings) -> list[tuple[str, str]]:
    """(label, value) of the answer modes this server can use (no LLM choice without an endpoint)."""
    choices = [("auto", "auto"), ("extractive (no LLM)", "extractive")]
    if settings.llm_configured:
        choices.append((f"LLM ({settings.llm_model})", "llm"))
    return choices


def mode_label(mode: str, settings: Settings) -> str:
    """How answers are made, for the status line: `extractive` or the model's name."""
    return f"LLM {settings.llm_model}" if mode == "llm" else "extractive"
