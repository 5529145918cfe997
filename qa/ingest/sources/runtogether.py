"""Layout 2: records run together, the ``arXiv:<id>`` line glued to the start of the next abstract.

    <abstract>
    <optional comment or URL line>
    arXiv:2508.02324<next abstract>
    ...
    arXiv:2503.09852

The ID closes the record before it. A comment line that merely mentions an ID (``arXiv admin note:
text overlap with arXiv:...``) does not start with it, so it stays a comment.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from qa.ingest.sources._text import RecordBuilder, looks_like_abstract, read_lines, split_id_line
from qa.limits import Limits
from qa.papers import Paper

_GLUED_RE = re.compile(r"^arXiv:\d{4}\.\d{4,5}(v\d+)?[A-Za-z]", re.MULTILINE)


_BARE_ID_RE = re.compile(r"^arXiv:\d{4}\.\d{4,5}(v\d+)?\s*$", re.MULTILINE)


def sniff(head: str) -> bool:
    """An ``arXiv:<id>`` line with text glued right after the ID; or, for a one-record file, a bare
    ID line with no blank line anywhere (blank lines mean the block layout)."""
    return bool(_GLUED_RE.search(head)) or (bool(_BARE_ID_RE.search(head)) and "\n\n" not in head.strip())


def parse(path: Path, limits: Limits) -> Iterator[Paper]:
    """Stream the records of a run-together file."""
    rec = RecordBuilder(path, limits)
    for line in read_lines(path, limits):
        if not line.strip():
            continue
        split = split_id_line(line.strip())
        if split:
            rec.arxiv_id = split[0]
            if paper := rec.take():
                yield paper
            if split[1]:
                rec.add(split[1])
        elif not rec.open or looks_like_abstract(line):
            # No record under way, or a second abstract with no ID between: the earlier one has none.
            if paper := rec.take():
                yield paper
            rec.add(line.strip())
        else:
            rec.comment(line.strip())
    if paper := rec.take():
        yield paper
