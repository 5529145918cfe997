"""Stand-ins for arXiv on 127.0.0.1: its API (Atom, `id_list`, `search_query`, `start`/`max_results`) and its
OAI-PMH endpoint (`ListRecords` in the `arXiv` format, with resumption tokens), both in the real wire format.

Usage::

    with FakeArxiv(papers) as api, FakeOAI(papers, page_size=2) as oai:
        api.faults = [(429, {"Retry-After": "1"}), (503, {})]   # answered before the next real ones
        ... ARXIV_QA_ARXIV_API_URL=api.url  ARXIV_QA_OAI_URL=oai.url ...

Every request is recorded in ``requests`` (its query parameters). ``malformed`` makes the next answer
broken XML. ``FakeOAI.hold_at`` makes the request for that page wait until ``release`` is set (a
test kills the harvester meanwhile).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

from tests.fakes._http import LoopbackHTTPServer


@dataclass
class FakePaper:
    """One paper as arXiv knows it."""

    arxiv_id: str
    title: str
    abstract: str
    authors: list[str]
    categories: list[str]  # primary first
    published: str  # YYYY-MM-DD, first version
    updated: str  # last version
    versions: int = 1
    comment: str | None = None
    journal_ref: str | None = None
    doi: str | None = None
    datestamp: str = ""  # OAI-PMH: the day its record last changed (default: `updated`)


@dataclass
class _Base:
    papers: list[FakePaper]
    requests: list[dict[str, str]] = field(default_factory=list)
    faults: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    malformed: bool = False

    def __enter__(self) -> _Base:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                params = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}
                fake.requests.append(params)
                status, headers, body = fake.answer(params)
                self.send_response(status)
                for k, v in {"Content-Type": "application/xml; charset=utf-8", **headers}.items():
                    self.send_header(k, v)
                data = body.encode()
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = LoopbackHTTPServer(Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/query"
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def answer(self, params: dict[str, str]) -> tuple[int, dict[str, str], str]:
        if self.faults:
            status, headers = self.faults.pop(0)
            return status, headers, f"<error>{status}</error>"
        if self.malformed:
            self.malformed = False
            return 200, {}, "<feed xmlns='http://www.w3.org/2005/Atom'><entry><title>cut short"
        return self.serve(params)

    def serve(self, params: dict[str, str]) -> tuple[int, dict[str, str], str]:
        raise NotImplementedError


def _x(text: str) -> str:
    return escape(text, {'"': "&quot;"})


class FakeArxiv(_Base):
    """The arXiv API: newest first by first submission, as `sortBy=submittedDate&sortOrder=descending` asks."""

    def serve(self, params: dict[str, str]) -> tuple[int, dict[str, str], str]:
        query = params.get("search_query", "")
        if "BAD(" in query:
            return 200, {}, _feed([_error_entry("incorrect id format for BAD(")], 1, 0)
        found = sorted(self.papers, key=lambda p: p.published, reverse=True)
        if params.get("id_list"):
            wanted = params["id_list"].split(",")
            found = [p for i in wanted for p in self.papers if p.arxiv_id == i.split("v")[0]]
        found = [p for p in found if _matches(p, query)]
        start, size = int(params.get("start", "0")), int(params.get("max_results", "10"))
        return 200, {}, _feed([_entry(p) for p in found[start : start + size]], len(found), start)


def _matches(p: FakePaper, query: str) -> bool:
    """The few search terms the stand-in knows: cat:, submittedDate:[A TO B], abs:/all: words, joined by AND."""
    for term in filter(None, (t.strip(" ()") for t in query.split(" AND "))):
        if term.startswith("cat:") and term[4:] not in p.categories:
            return False
        if m := re.match(r"submittedDate:\[(\d{8})\d* TO (\d{8})\d*\]", term):
            day = p.published.replace("-", "")
            if not m.group(1) <= day <= m.group(2):
                return False
        if term.startswith(("abs:", "all:")) and term[4:].lower() not in (p.abstract + p.title).lower():
            return False
    return True


def _feed(entries: list[str], total: int, start: int) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n'
        '  <title type="html">ArXiv Query</title>\n  <id>http://arxiv.org/api/stand-in</id>\n'
        '  <updated>2025-07-01T00:00:00-04:00</updated>\n'
        f'  <opensearch:totalResults xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">{total}'
        '</opensearch:totalResults>\n'
        f'  <opensearch:startIndex xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">{start}'
        '</opensearch:startIndex>\n' + "".join(entries) + "</feed>\n")


def _entry(p: FakePaper) -> str:
    ns = 'xmlns:arxiv="http://arxiv.org/schemas/atom"'
    extra = "".join(f"    <arxiv:{tag} {ns}>{_x(v)}</arxiv:{tag}>\n"
                    for tag, v in (("comment", p.comment), ("journal_ref", p.journal_ref), ("doi", p.doi)) if v)
    return (
        f"  <entry>\n    <id>http://arxiv.org/abs/{p.arxiv_id}v{p.versions}</id>\n"
        f"    <updated>{p.updated}T10:00:00Z</updated>\n    <published>{p.published}T09:00:00Z</published>\n"
        f"    <title>{_x(p.title)}</title>\n    <summary>  {_x(p.abstract)}\n</summary>\n"
        + "".join(f"    <author>\n      <name>{_x(a)}</name>\n    </author>\n" for a in p.authors)
        + extra
        + f'    <arxiv:primary_category {ns} term="{p.categories[0]}" scheme="http://arxiv.org/schemas/atom"/>\n'
        + "".join(f'    <category term="{c}" scheme="http://arxiv.org/schemas/atom"/>\n' for c in p.categories)
        + "  </entry>\n")


def _error_entry(message: str) -> str:
    return (f"  <entry>\n    <id>http://arxiv.org/api/errors#{_x(message)}</id>\n    <title>Error</title>\n"
            f"    <summary>{_x(message)}</summary>\n  </entry>\n")


@dataclass
class FakeOAI(_Base):
    """OAI-PMH ListRecords (metadataPrefix arXiv) over the papers whose datestamp is in [from, until]."""

    page_size: int = 2
    today: str = "2025-07-01"
    hold_at: int | None = None  # the page (1-based) whose request waits for `release`
    release: threading.Event = field(default_factory=threading.Event)

    def serve(self, params: dict[str, str]) -> tuple[int, dict[str, str], str]:
        if "resumptionToken" in params:
            try:
                offset, start, until, set_spec = params["resumptionToken"].split("|")
            except ValueError:
                return 200, {}, self._error("badResumptionToken", "unknown token")
        else:
            offset, start, until, set_spec = "0", params.get("from", ""), params.get("until", ""), params.get("set", "")
        page = int(offset) // self.page_size + 1
        if self.hold_at == page:
            self.release.wait(60)
        found = [p for p in sorted(self.papers, key=lambda p: (p.datestamp or p.updated, p.arxiv_id))
                 if (not set_spec or any(c.split(".")[0] == set_spec for c in p.categories))
                 and (not start or (p.datestamp or p.updated) >= start)
                 and (not until or (p.datestamp or p.updated) <= until)]
        if not found:
            return 200, {}, self._error("noRecordsMatch", "no records")
        at = int(offset)
        chunk = found[at : at + self.page_size]
        after = at + self.page_size
        token = (f'<resumptionToken cursor="{at}" completeListSize="{len(found)}">'
                 f'{after}|{start}|{until}|{set_spec}</resumptionToken>' if after < len(found)
                 else f'<resumptionToken cursor="{at}" completeListSize="{len(found)}"/>')
        return 200, {}, self._wrap("<ListRecords>" + "".join(map(_record, chunk)) + token + "</ListRecords>")

    def _wrap(self, inner: str) -> str:
        return ('<?xml version="1.0" encoding="UTF-8"?>\n<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
                f"<responseDate>{self.today}T12:00:00Z</responseDate>"
                f'<request verb="ListRecords">{_x(self.url)}</request>{inner}</OAI-PMH>\n')

    def _error(self, code: str, text: str) -> str:
        return self._wrap(f'<error code="{code}">{_x(text)}</error>')


def _record(p: FakePaper) -> str:
    def author(name: str) -> str:
        *fore, key = name.split()
        return f"<author><keyname>{_x(key)}</keyname><forenames>{_x(' '.join(fore))}</forenames></author>"

    extra = "".join(f"<{tag}>{_x(v)}</{tag}>" for tag, v in (("comments", p.comment), ("journal-ref", p.journal_ref),
                                                               ("doi", p.doi)) if v)
    return (f"<record><header><identifier>oai:arXiv.org:{p.arxiv_id}</identifier>"
            f"<datestamp>{p.datestamp or p.updated}</datestamp></header><metadata>"
            '<arXiv xmlns="http://arxiv.org/OAI/arXiv/">'
            f"<id>{p.arxiv_id}</id><created>{p.published}</created><updated>{p.updated}</updated>"
            f"<authors>{''.join(map(author, p.authors))}</authors><title>{_x(p.title)}</title>"
            f"<categories>{' '.join(p.categories)}</categories>{extra}<abstract>{_x(p.abstract)}</abstract>"
            "</arXiv></metadata></record>")
