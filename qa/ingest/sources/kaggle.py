"""The Kaggle ``arxiv-metadata-oai-snapshot.json``: JSON lines, one arXiv paper per line.

    {"id": "0704.0001", "submitter": "Pavel Nadolsky", "authors": "C. Bal\\'azs, E. L. Berger, ...",
     "title": "Calculation of prompt diphoton ...", "comments": "37 pages, 15 figures; published version",
     "journal-ref": "...", "doi": "...", "report-no": "...", "categories": "hep-ph", "license": null,
     "abstract": "  A fully differential calculation ...\\n", "versions": [{"version": "v1",
     "created": "Mon, 2 Apr 2007 19:18:42 GMT"}], "update_date": "2008-11-13", "authors_parsed": [...]}

The snapshot holds millions of lines, so it is streamed one line at a time and never loaded whole;
a line over the length limit is skipped unread (`qa.limits`). A record is dated by its first
version's ``created`` timestamp, else by ``update_date``. A line that is not a JSON object with an
``abstract`` (or is nested too deep) raises `UnrecognisedFormat` naming the file and line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from qa.errors import UnrecognisedFormat
from qa.ingest.sources._text import collapse
from qa.limits import JSONTooDeep, Limits, bounded_lines, load_json
from qa.papers import Paper, Source, parse_arxiv_id

POSITION = "line"  # what a Source's position counts in this format


def sniff(head: str) -> bool:
    """The first non-blank line is a JSON object with ``"id"`` and ``"abstract"`` keys.

    A line too long for the head is cut: then it must start with ``{`` and name both keys.
    """
    text = head.lstrip("\ufeff")
    first, newline, _ = text.lstrip().partition("\n")
    if not first.startswith("{"):
        return False
    try:
        record = load_json(first)
    except JSONTooDeep:
        return '"abstract"' in first and '"id"' in first  # parsing names the line
    except ValueError:  # cut by the end of the head (or a number too long to convert)
        return not newline and '"abstract"' in first and '"id"' in first
    return isinstance(record, dict) and "abstract" in record and "id" in record


def parse(path: Path, limits: Limits) -> Iterator[Paper]:
    """Stream the records of a snapshot file; blank lines and blank abstracts are skipped."""
    with path.open(encoding="utf-8-sig") as f:
        for number, line in enumerate(bounded_lines(f, limits.max_line_chars), start=1):
            if line is None:
                limits.line_too_long(path, number)
                continue
            if not line.strip():
                continue
            paper = _paper(_record(line, path, number), path, number)
            if paper is not None:
                yield paper


def _record(line: str, path: Path, number: int) -> dict[str, Any]:
    """The JSON object of one line, or `UnrecognisedFormat` saying what is wrong with it."""
    try:
        record = load_json(line)
    except JSONTooDeep as e:
        raise _bad_line(path, number, f"JSON {e}") from None
    except json.JSONDecodeError as e:
        raise _bad_line(path, number, f"invalid JSON: {e.msg} at column {e.colno}") from None
    except ValueError as e:  # a number of more digits than Python converts
        raise _bad_line(path, number, f"invalid JSON: {str(e).splitlines()[0][:120]}") from None
    if not isinstance(record, dict):
        raise _bad_line(path, number, f"a JSON {type(record).__name__}, not an object")
    if "abstract" not in record:
        raise _bad_line(path, number, 'no "abstract" field')
    if not isinstance(record["abstract"], str | None):
        raise _bad_line(path, number, '"abstract" is not a string')
    return record


def _bad_line(path: Path, number: int, why: str) -> UnrecognisedFormat:
    return UnrecognisedFormat(str(path), f"line {number}: not a snapshot record ({why})")


def _paper(record: dict[str, Any], path: Path, number: int) -> Paper | None:
    """The Paper of one record, or None when its abstract is blank."""
    abstract = collapse(record["abstract"])
    if not abstract:
        return None
    raw_id = record.get("id")
    categories = record.get("categories")
    return Paper(
        abstract=abstract,
        # An ID that is not a string (a tool turned "0704.0010" into 704.001) cannot be trusted.
        arxiv_id=parse_arxiv_id(raw_id) if isinstance(raw_id, str) else None,
        title=collapse(record.get("title")),
        comments=collapse(record.get("comments")),
        created=_created(record),
        categories=categories.split() if isinstance(categories, str) else [],
        authors=collapse(record.get("authors")),
        sources=[Source(str(path), number)],
        updated=_updated(record),
        versions=len(versions) if isinstance(versions := record.get("versions"), list) and versions else None,
        doi=_string(record.get("doi")),
        journal_ref=_string(record.get("journal-ref")),
    )


def _string(value: Any) -> str | None:
    return collapse(value) if isinstance(value, str) else None


def _stamp(version: Any) -> date | None:
    """The date of one entry of ``versions`` (an RFC 2822 timestamp), or None."""
    stamp = version.get("created") if isinstance(version, dict) else None
    try:
        return parsedate_to_datetime(stamp).date() if isinstance(stamp, str) else None
    except (TypeError, ValueError):
        return None


def _updated(record: dict[str, Any]) -> date | None:
    """The date of the last version, else None."""
    versions = record.get("versions")
    return _stamp(versions[-1]) if isinstance(versions, list) and versions else None


def _created(record: dict[str, Any]) -> date | None:
    """The date of the first version (RFC 2822 timestamp), else of ``update_date``, else None."""
    versions = record.get("versions")
    first = _stamp(versions[0]) if isinstance(versions, list) and versions else None
    if first is not None:
        return first  # else a missing or broken timestamp: fall back to update_date
    updated = record.get("update_date")
    try:
        return date.fromisoformat(updated) if isinstance(updated, str) else None
    except ValueError:
        return None
