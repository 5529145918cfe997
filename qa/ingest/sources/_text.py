"""Pieces shared by the plain-text layouts: ID lines, dates, and what looks like an abstract."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

from qa.limits import Limits, bounded_lines
from qa.papers import Paper, Source

# `arXiv:` then a new-style ID. From 1501 on, IDs have five digits after the dot, before four:
# knowing that lets us split an ID glued to the next abstract ("arXiv:2505.0938812 pages" is ambiguous
# only without it).
ID_PREFIX_RE = re.compile(r"^arXiv:\s?(?P<yymm>\d{4})\.(?P<num>\d{4,5})(?P<ver>v\d+)?", re.IGNORECASE)
OLD_ID_PREFIX_RE = re.compile(r"^arXiv:\s?(?P<id>[a-z][a-z\-]+(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?", re.IGNORECASE)
CREATED_RE = re.compile(r"^Created:\s*(\d{4})-(\d{2})-(\d{2})\s*$", re.IGNORECASE)
# A comment line is short; a line this long with sentences is taken for a new abstract.
ABSTRACT_MIN_CHARS = 400


def split_id_line(line: str) -> tuple[str, str] | None:
    """(arXiv ID, text glued after it) when `line` starts with ``arXiv:<id>``, else None.

    >>> split_id_line("arXiv:2508.02324Recent advancements in LLMs")
    ('2508.02324', 'Recent advancements in LLMs')
    >>> split_id_line("arXiv:1412.1234 5 pages")
    ('1412.1234', '5 pages')
    >>> split_id_line("Code at x. arXiv admin note: text overlap with arXiv:2408.15262") is None
    True
    """
    m = ID_PREFIX_RE.match(line)
    if m:
        digits = 5 if int(m["yymm"]) >= 1501 else 4
        num = m["num"][:digits]
        if len(num) < digits:
            return None
        end = m.start("num") + digits
        ver = re.match(r"v\d+", line[end:])
        end += ver.end() if ver else 0
        return f"{m['yymm']}.{num}", line[end:].strip()
    m = OLD_ID_PREFIX_RE.match(line)
    return (m["id"], line[m.end():].strip()) if m else None


def parse_created(line: str) -> date | None:
    """The date of a ``Created: YYYY-MM-DD`` line, or None (also for an impossible date)."""
    m = CREATED_RE.match(line.strip())
    if not m:
        return None
    try:
        return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None


def looks_like_abstract(text: str) -> bool:
    """Long enough and made of sentences: a new abstract, not a comment line."""
    return len(text) >= ABSTRACT_MIN_CHARS and text.count(". ") >= 2


def read_lines(path: Path, limits: Limits) -> Iterator[str]:
    """The lines of a UTF-8 text file, without line ends, streamed; a line over the limit is skipped."""
    with path.open(encoding="utf-8-sig") as f:
        for number, line in enumerate(bounded_lines(f, limits.max_line_chars), start=1):
            if line is None:
                limits.line_too_long(path, number)
                yield ""  # as a blank line: it ends the block it was in
            else:
                yield line.rstrip("\r\n")


class RecordBuilder:
    """Collects the parts of one record, then turns them into a Paper."""

    def __init__(self, path: Path, limits: Limits) -> None:
        self.path = str(path)
        self.limits = limits
        self.count = 0
        self.reset()

    def reset(self) -> None:
        self.abstract: list[str] = []
        self.comments: list[str] = []
        self.arxiv_id: str | None = None
        self.created: date | None = None
        self.size = 0  # characters of abstract text met, kept or not
        self.comment_size = 0

    def add(self, text: str, size: int | None = None) -> None:
        """Add a piece of abstract text (of `size` characters before any were dropped); past the size
        limit the text is only counted, not kept, and the record is skipped when taken."""
        self.size += len(text) if size is None else size
        if self.size <= self.limits.max_abstract_chars:
            self.abstract.append(text)

    def comment(self, text: str) -> None:
        """Add a comment line; comments past the size limit are dropped (the abstract is what counts)."""
        self.comment_size += len(text)
        if self.comment_size <= self.limits.max_abstract_chars:
            self.comments.append(text)

    @property
    def open(self) -> bool:
        return self.size > self.limits.max_abstract_chars or any(part.strip() for part in self.abstract)

    def take(self) -> Paper | None:
        """The Paper collected so far (None if it has no abstract text or too much), and start afresh."""
        text = " ".join(" ".join(self.abstract).split())
        if not text and not self.open:
            self.reset()
            return None
        self.count += 1
        if self.limits.abstract_too_long(self.path, f"record {self.count}", self.size):
            self.reset()
            return None
        paper = Paper(
            abstract=text,
            arxiv_id=self.arxiv_id,
            comments="; ".join(self.comments) or None,
            created=self.created,
            sources=[Source(self.path, self.count)],
        )
        self.reset()
        return paper


def collapse(value: object) -> str | None:
    """A text field with every run of whitespace made one space; None when absent, not text, or blank."""
    collapsed = " ".join(value.split()) if isinstance(value, str) else ""
    return collapsed or None
