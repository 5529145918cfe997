"""Bounds on hostile input: the size of one record, the length of one line, the nesting of one JSON value.

Input files are read line by line with a cap on the line length, so a 200 MB line is skipped without
ever being held whole; a record whose abstract is over the cap is skipped too, each with one line
saying where. JSON is nested at most `MAX_JSON_DEPTH` levels deep (an arXiv record needs three).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, TextIO

MAX_JSON_DEPTH = 32
MAX_NOTES = 20  # skipped records named one by one per file; the rest are counted
# A JSON string (so brackets inside it are not counted), or a bracket.
_JSON_TOKEN_RE = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


class JSONTooDeep(ValueError):
    """A JSON value nested deeper than allowed."""


def json_depth(text: str) -> int:
    """How deep the arrays and objects of the JSON `text` nest (0 for a scalar)."""
    depth = deepest = 0
    for token in _JSON_TOKEN_RE.findall(text):
        if token in ("[", "{"):
            depth += 1
            deepest = max(deepest, depth)
        elif token in ("]", "}"):
            depth -= 1
    return deepest


def load_json(text: str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """`json.loads`, refusing values nested deeper than `max_depth` (`JSONTooDeep`) before parsing them."""
    too_deep = JSONTooDeep(f"nested deeper than {max_depth} levels")
    if text.count("[") + text.count("{") > max_depth and json_depth(text) > max_depth:
        raise too_deep
    try:
        return json.loads(text)
    except RecursionError:
        raise too_deep from None


def bounded_lines(f: TextIO, max_chars: int) -> Iterator[str | None]:
    """Each line of `f` (with its line end), or None for a line longer than `max_chars`.

    A line over the cap is read and dropped `max_chars` characters at a time, never held whole.
    """
    while line := f.readline(max_chars + 1):
        if line.endswith("\n") or len(line) <= max_chars:
            yield line
            continue
        while (rest := f.readline(max_chars)) and not rest.endswith("\n"):
            pass
        yield None


@dataclass
class Limits:
    """The caps applied while reading one file, and the records skipped for going over them."""

    max_abstract_chars: int = 100_000
    max_line_chars: int = 1_000_000
    skipped: int = 0
    notes: list[str] = field(default_factory=list)

    def skip(self, path: object, where: str, why: str) -> None:
        """Count a skipped record; the first MAX_NOTES are named: ``<path>: line 7: <why>``."""
        self.skipped += 1
        if self.skipped <= MAX_NOTES:
            self.notes.append(f"{path}: {where}: {why}")
        elif self.skipped == MAX_NOTES + 1:
            self.notes.append(f"{path}: more records skipped for the same reasons (counted, not named)")

    def abstract_too_long(self, path: object, where: str, length: int) -> bool:
        """True (and the record skipped) when an abstract of `length` characters is over the cap."""
        if length <= self.max_abstract_chars:
            return False
        self.skip(path, where, f"an abstract of {length:,} characters, over the limit of "
                               f"{self.max_abstract_chars:,} (ARXIV_QA_MAX_ABSTRACT_CHARS)")
        return True

    def line_too_long(self, path: object, number: int) -> None:
        self.skip(path, f"line {number}", f"a line of more than {self.max_line_chars:,} characters, "
                                          "over the limit (ARXIV_QA_MAX_LINE_CHARS)")
