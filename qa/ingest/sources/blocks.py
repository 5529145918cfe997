"""Layout 1: blocks separated by blank lines.

    <abstract>

    <optional comment block: "11 pages, 9 figures", venue, URLs>

    arXiv:2506.05176
    Created: 2025-06-05

The ``arXiv:``/``Created:`` block closes the record. A second long block with no ID before it
starts a new record: the earlier one then has no ID (never guessed).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from qa.ingest.sources._text import RecordBuilder, looks_like_abstract, parse_created, read_lines, split_id_line
from qa.limits import Limits
from qa.papers import Paper

_ID_LINE_RE = re.compile(r"^arXiv:\S+\s*$", re.MULTILINE | re.IGNORECASE)
_CREATED_RE = re.compile(r"^Created:\s*\d{4}-\d{2}-\d{2}\s*$", re.MULTILINE | re.IGNORECASE)


def sniff(head: str) -> bool:
    """A line that is only ``arXiv:<id>``, and ``Created:`` lines or blank-line separated blocks."""
    return bool(_ID_LINE_RE.search(head)) and (bool(_CREATED_RE.search(head)) or "\n\n" in head)


def _blocks(path: Path, limits: Limits) -> Iterator[tuple[list[str], int]]:
    """Each block of non-blank lines, stripped, and its size in characters (lines past the limit only counted)."""
    block: list[str] = []
    size = 0
    for line in read_lines(path, limits):
        if line.strip():
            size += len(line) + 1
            if size <= limits.max_abstract_chars:
                block.append(line.strip())
        elif size:
            yield block, size
            block, size = [], 0
    if size:
        yield block, size


def _id_block(rec: RecordBuilder, block: list[str]) -> bool:
    """Fill in ID and date if `block` is an ``arXiv:``/``Created:`` block."""
    split = split_id_line(block[0])
    if not split or split[1] or not all(parse_created(x) for x in block[1:]):
        return False
    rec.arxiv_id = split[0]
    rec.created = parse_created(block[1]) if len(block) > 1 else None
    return True


def parse(path: Path, limits: Limits) -> Iterator[Paper]:
    """Stream the records of a blank-line-block file."""
    rec = RecordBuilder(path, limits)
    for block, size in _blocks(path, limits):
        text = " ".join(block)
        if size > limits.max_abstract_chars:  # too long for a comment: an abstract over the limit
            if paper := rec.take():
                yield paper
            rec.add(text, size)
        elif _id_block(rec, block):
            if paper := rec.take():
                yield paper
            rec.reset()
        elif not rec.open or looks_like_abstract(text):
            if paper := rec.take():
                yield paper
            rec.add(text)
        else:
            rec.comment(text)
    if paper := rec.take():
        yield paper
