"""OAI-PMH ``ListRecords`` answers of arXiv (what `arxiv-qa harvest` keeps), in the ``arXiv`` or ``arXivRaw`` format.

    <OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">
      <responseDate>2025-06-02T10:00:00Z</responseDate>
      <ListRecords>
        <record>
          <header><identifier>oai:arXiv.org:2505.09388</identifier><datestamp>2025-05-15</datestamp></header>
          <metadata>
            <arXiv xmlns="http://arxiv.org/OAI/arXiv/">
              <id>2505.09388</id><created>2025-05-14</created><updated>2025-05-20</updated>
              <authors><author><keyname>Yang</keyname><forenames>An</forenames></author></authors>
              <title>Qwen3 Technical Report</title><categories>cs.CL cs.AI</categories>
              <comments>35 pages</comments><journal-ref>...</journal-ref><doi>...</doi>
              <abstract>In this work, we present Qwen3 ...</abstract>
            </arXiv>
          </metadata>
        </record>
        <resumptionToken cursor="0" completeListSize="2">...</resumptionToken>
      </ListRecords>
    </OAI-PMH>

``arXivRaw`` gives the authors as one string and each version with its date (so the version count).
A deleted record (``<header status="deleted">``) has no metadata and is skipped. Read with
`defusedxml`, record by record; an OAI-PMH error answer or malformed XML raises `UnrecognisedFormat`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from email.utils import parsedate_to_datetime
from pathlib import Path
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from qa.errors import UnrecognisedFormat
from qa.ingest.sources._text import collapse
from qa.limits import Limits
from qa.papers import Paper, Source, parse_arxiv_id

OAI = "{http://www.openarchives.org/OAI/2.0/}"
ARXIV = "{http://arxiv.org/OAI/arXiv/}"
RAW = "{http://arxiv.org/OAI/arXivRaw/}"
POSITION = "record"
_ROOT_RE = re.compile(r"<(?:[\w.-]+:)?OAI-PMH\b[^>]*?=\s*[\"']http://www\.openarchives\.org/OAI/2\.0/[\"']", re.DOTALL)


def sniff(head: str) -> bool:
    """Markup whose root is an OAI-PMH element."""
    return head.lstrip("\ufeff \t\r\n").startswith("<") and bool(_ROOT_RE.search(head))


def parse(path: Path, limits: Limits) -> Iterator[Paper]:
    """Stream the records of a ListRecords answer as Papers (deleted and abstract-less records skipped)."""
    for number, elem in enumerate(_records(path), start=1):
        paper = _paper(elem, path, number)
        if paper is not None:
            yield paper


def _records(path: Path) -> Iterator[Element]:
    root: Element | None = None
    with path.open("rb") as f:
        try:
            for event, elem in iterparse(f, events=("start", "end")):
                if root is None:
                    if elem.tag != f"{OAI}OAI-PMH":
                        raise UnrecognisedFormat(str(path), f"malformed OAI-PMH XML: root element is <{elem.tag}>")
                    root = elem
                elif event == "end" and elem.tag == f"{OAI}error":
                    raise UnrecognisedFormat(str(path), f"OAI-PMH error {elem.get('code')}: {collapse(elem.text)}")
                elif event == "end" and elem.tag == f"{OAI}record":
                    yield elem
                    root.clear()
        except ParseError as e:
            raise UnrecognisedFormat(str(path), f"malformed OAI-PMH XML: {e}") from None
        except DefusedXmlException as e:
            raise UnrecognisedFormat(str(path), f"malformed OAI-PMH XML: {type(e).__name__}") from None


def _paper(record: Element, path: Path, number: int) -> Paper | None:
    header = record.find(f"{OAI}header")
    if header is not None and header.get("status") == "deleted":
        return None
    meta = record.find(f"{OAI}metadata")
    if meta is None:
        return None
    for ns, read in ((ARXIV, _arxiv), (RAW, _raw)):
        elem = meta.find(f"{ns}{'arXiv' if ns == ARXIV else 'arXivRaw'}")
        if elem is not None:
            return read(elem, ns, Source(str(path), number))
    raise UnrecognisedFormat(str(path), f"record {number}: metadata neither arXiv nor arXivRaw")


def _text(elem: Element, ns: str, tag: str) -> str | None:
    found = elem.find(f"{ns}{tag}")
    return collapse("".join(found.itertext())) if found is not None else None


def _common(elem: Element, ns: str, source: Source) -> Paper | None:
    abstract = _text(elem, ns, "abstract")
    if not abstract:
        return None
    raw_id = _text(elem, ns, "id")
    return Paper(abstract=abstract, arxiv_id=parse_arxiv_id(raw_id) if raw_id else None, title=_text(elem, ns, "title"),
                 comments=_text(elem, ns, "comments"), categories=(_text(elem, ns, "categories") or "").split(),
                 sources=[source], doi=_text(elem, ns, "doi"), journal_ref=_text(elem, ns, "journal-ref"))


def _arxiv(elem: Element, ns: str, source: Source) -> Paper | None:
    paper = _common(elem, ns, source)
    if paper is None:
        return None
    names = []
    for author in elem.iterfind(f"{ns}authors/{ns}author"):
        parts = [_text(author, ns, t) for t in ("forenames", "keyname", "suffix")]
        names.append(" ".join(p for p in parts if p))
    paper.authors = ", ".join(n for n in names if n) or None
    paper.created, paper.updated = _day(_text(elem, ns, "created")), _day(_text(elem, ns, "updated"))
    paper.updated = paper.updated or paper.created
    return paper


def _raw(elem: Element, ns: str, source: Source) -> Paper | None:
    paper = _common(elem, ns, source)
    if paper is None:
        return None
    paper.authors = _text(elem, ns, "authors")
    dates = [_stamp(_text(v, ns, "date")) for v in elem.iterfind(f"{ns}version")]
    paper.versions = len(dates) or None
    paper.created = dates[0] if dates else None
    paper.updated = dates[-1] if dates else None
    return paper


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text[:10]) if text else None
    except ValueError:
        return None


def _stamp(text: str | None) -> date | None:
    """The date of an RFC 2822 timestamp (``Mon, 2 Apr 2007 19:18:42 GMT``), or None."""
    try:
        return parsedate_to_datetime(text).date() if text else None
    except (TypeError, ValueError):
        return None
