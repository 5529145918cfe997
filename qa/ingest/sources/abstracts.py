"""Layout 3: ``Abstract:``-prefixed records, one per line, with no IDs (and stray header lines).

    additional authors not shown
    Abstract:In this work, we introduce ...
    Abstract:Training language models ...

Lines before the first ``Abstract:`` are page debris and are skipped. A later line that is not an
``Abstract:`` line is the record's comment, or its ID when it is a bare ``arXiv:<id>`` line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from qa.ingest.sources._text import RecordBuilder, read_lines, split_id_line
from qa.limits import Limits
from qa.papers import Paper

_PREFIX_RE = re.compile(r"^\s*Abstract\s*:\s*", re.IGNORECASE)


def sniff(head: str) -> bool:
    """At least one line starting with ``Abstract:``."""
    return any(_PREFIX_RE.match(line) for line in head.splitlines())


def parse(path: Path, limits: Limits) -> Iterator[Paper]:
    """Stream the records of an ``Abstract:`` file."""
    rec = RecordBuilder(path, limits)
    for line in read_lines(path, limits):
        m = _PREFIX_RE.match(line)
        split = split_id_line(line.strip())
        if m:
            if paper := rec.take():
                yield paper
            rec.add(line[m.end():])
        elif rec.open and split and not split[1]:
            rec.arxiv_id = split[0]
        elif rec.open and line.strip():
            rec.comment(line.strip())
    if paper := rec.take():
        yield paper
