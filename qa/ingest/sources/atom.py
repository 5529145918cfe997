"""The arXiv API's Atom XML (``http://export.arxiv.org/api/query`` responses), streamed entry by entry.

    <feed xmlns="http://www.w3.org/2005/Atom" xmlns:arxiv="http://arxiv.org/schemas/atom">
      <entry>
        <id>http://arxiv.org/abs/2505.09388v1</id>
        <updated>2025-05-14T17:34:51Z</updated>     (the last version's date)
        <published>2025-05-14T17:34:51Z</published>   (the first version's)
        <title>Qwen3 Technical Report</title>
        <summary>In this work, we present Qwen3 ...</summary>
        <author><name>An Yang</name></author>
        <arxiv:comment>35 pages, 6 figures</arxiv:comment>
        <arxiv:journal_ref>...</arxiv:journal_ref>  <arxiv:doi>10.1234/...</arxiv:doi>  (when given)
        <arxiv:primary_category term="cs.CL"/>
        <category term="cs.CL"/>
      </entry>
    </feed>

The XML is read with `defusedxml` (no entity expansion, no external references) and each entry is
dropped once read, so memory stays flat however long the feed. Malformed XML, and the error feed the
API answers a bad query with, raise `UnrecognisedFormat`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from qa.errors import UnrecognisedFormat
from qa.ingest.sources._text import collapse
from qa.limits import Limits
from qa.papers import Paper, Source, parse_arxiv_id

ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"
POSITION = "entry"  # what a Source's position counts in this format
# Elements of an XHTML summary that separate words.
_BREAKS = frozenset({"p", "div", "br", "li", "dd", "dt", "tr", "td", "th", "blockquote", "pre",
                     "h1", "h2", "h3", "h4", "h5", "h6"})
# The API reports a bad query as a feed with one entry whose id is under this URL.
_API_ERROR_ID = "http://arxiv.org/api/errors"
# An Atom root element: `<feed xmlns="...Atom">` or a prefixed `<atom:feed xmlns:atom="...Atom">`.
_FEED_RE = re.compile(r"<(?:[\w.-]+:)?feed\b[^>]*?=\s*[\"']http://www\.w3\.org/2005/Atom[\"']", re.DOTALL)


def sniff(head: str) -> bool:
    """Markup from the first character, and an Atom ``<feed`` element in the head."""
    return head.lstrip("\ufeff \t\r\n").startswith("<") and bool(_FEED_RE.search(head))


def parse(path: Path, limits: Limits) -> Iterator[Paper]:
    """Stream the entries of an Atom feed as Papers; an entry with an empty summary is skipped.

    (A summary over `limits` is dropped by `qa.ingest.sources.read_papers`, as for every format.)
    """
    for number, entry in enumerate(_entries(path), start=1):
        paper = _paper(entry, path, number)
        if paper is not None:
            yield paper


def _entries(path: Path) -> Iterator[Element]:
    """Each complete ``<entry>`` element, cleared from the tree once the caller is done with it."""
    root: Element | None = None
    with path.open("rb") as f:
        try:
            for event, elem in iterparse(f, events=("start", "end")):
                if root is None:
                    root = _check_root(elem, path)
                elif event == "end" and elem.tag == f"{ATOM}entry":
                    yield elem
                    root.clear()  # drops this entry and anything read before it
        except ParseError as e:
            raise UnrecognisedFormat(str(path), f"malformed Atom XML: {e}") from None
        except DefusedXmlException as e:
            raise UnrecognisedFormat(str(path), f"malformed Atom XML: {type(e).__name__} ({e})") from None


def _check_root(elem: Element, path: Path) -> Element:
    if elem.tag != f"{ATOM}feed":
        raise UnrecognisedFormat(str(path), f"malformed Atom XML: root element is <{elem.tag}>, not an Atom <feed>")
    return elem


def _paper(entry: Element, path: Path, number: int) -> Paper | None:
    """The Paper of one entry, or None when its summary is empty."""
    entry_id = _text(entry, "id") or ""
    abstract = _text(entry, "summary")
    if entry_id.startswith(_API_ERROR_ID):
        raise UnrecognisedFormat(str(path), f"arXiv API error response: {abstract or entry_id}")
    if not abstract:
        return None
    authors = [name for a in entry.findall(f"{ATOM}author") if (name := collapse(a.findtext(f"{ATOM}name")))]
    return Paper(
        abstract=abstract,
        arxiv_id=parse_arxiv_id(entry_id) if entry_id else None,
        title=_text(entry, "title"),
        comments=collapse(_all_text(entry.find(f"{ARXIV}comment"))),
        created=_day(_text(entry, "published")),
        categories=_categories(entry),
        authors=", ".join(authors) or None,
        sources=[Source(str(path), number)],
        updated=_day(_text(entry, "updated")),
        versions=_version(entry_id),
        doi=collapse(_all_text(entry.find(f"{ARXIV}doi"))),
        journal_ref=collapse(_all_text(entry.find(f"{ARXIV}journal_ref"))),
    )


def _text(entry: Element, atom_tag: str) -> str | None:
    """The whitespace-collapsed text of the entry's Atom child `atom_tag`, or None when empty."""
    return collapse(_all_text(entry.find(f"{ATOM}{atom_tag}")))


def _all_text(elem: Element | None) -> str | None:
    """All the text inside `elem`, its child elements' too (a ``type="xhtml"`` summary holds a ``<div>``
    of paragraphs); a paragraph, line break or list item ends a word, an inline element does not."""
    if elem is None:
        return None
    for child in elem.iter():
        if child is not elem and isinstance(child.tag, str) and child.tag.rsplit("}", 1)[-1] in _BREAKS:
            child.text, child.tail = f" {child.text or ''}", f" {child.tail or ''}"
    return "".join(elem.itertext())


def _categories(entry: Element) -> list[str]:
    """The primary category first, then the others, each once."""
    primary = entry.find(f"{ARXIV}primary_category")
    terms = [primary.get("term")] if primary is not None else []
    terms += [c.get("term") for c in entry.findall(f"{ATOM}category")]
    return list(dict.fromkeys(t.strip() for t in terms if t and t.strip()))


def _version(entry_id: str) -> int | None:
    """The version an entry's ID names (``.../2506.05176v3`` -> 3): the API gives the latest, so the count."""
    m = re.search(r"v(\d+)$", entry_id.strip())
    return int(m.group(1)) if m else None


def _day(timestamp: str | None) -> date | None:
    """The date of an Atom timestamp such as ``2025-05-14T17:34:51Z``, or None."""
    if not timestamp:
        return None
    try:
        return date.fromisoformat(timestamp[:10])
    except ValueError:
        return None
