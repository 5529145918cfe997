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

from qa.papers import Paper
from qa.sources._text import RecordBuilder, looks_like_abstract, parse_created, read_lines, split_id_line

_ID_LINE_RE = re.compile(r"^arXiv:\S+\s*$", re.MULTILINE | re.IGNORECASE)
_CREATED_RE = re.compile(r"^Created:\s*\d{4}-\d{2}-\d{2}\s*$", re.MULTILINE | re.IGNORECASE)


def sniff(head: str) -> bool:
    """A line that is only ``arXiv:<id>``, and ``Created:`` lines or blank-line separated blocks."""
    return bool(_ID_LINE_RE.search(head)) and (bool(_CREATED_RE.search(head)) or "\n\n" in head)


def _blocks(path: Path) -> Iterator[list[str]]:
    block: list[str] = []
    for line in read_lines(path):
        if line.strip():
            block.append(line.strip())
        elif block:
            yield block
            block = []
    if block:
        yield block


def _id_block(rec: RecordBuilder, block: list[str]) -> bool:
    """Fill in ID and date if `block` is an ``arXiv:``/``Created:`` block."""
    split = split_id_line(block[0])
    if not split or split[1] or not all(parse_created(x) for x in block[1:]):
        return False
    rec.arxiv_id = split[0]
    rec.created = parse_created(block[1]) if len(block) > 1 else None
    return True


def parse(path: Path) -> Iterator[Paper]:
    """Stream the records of a blank-line-block file."""
    rec = RecordBuilder(path)
    for block in _blocks(path):
        text = " ".join(block)
        if _id_block(rec, block):
            if paper := rec.take():
                yield paper
            rec.reset()
        elif not rec.open or looks_like_abstract(text):
            if paper := rec.take():
                yield paper
            rec.abstract.append(text)
        else:
            rec.comments.append(text)
    if paper := rec.take():
        yield paper
