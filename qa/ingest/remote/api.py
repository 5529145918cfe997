"""`arxiv-qa fetch`: papers from the arXiv API by ID, by query, or by category since a date.

    https://export.arxiv.org/api/query?id_list=2505.09388,2412.15115
    https://export.arxiv.org/api/query?search_query=cat:cs.CL AND submittedDate:[202501010000 TO 209912312359]
        &sortBy=submittedDate&sortOrder=descending&start=0&max_results=100

Pages are asked for `Settings.arxiv_page_size` entries at a time through the polite client
(`qa.ingest.remote.http`), each kept under its content hash and ingested before the next is asked
for: interrupted and run again, a fetch re-reads pages it had finished (skipped by their hash) and
embeds nothing twice. The API reports a bad query as a feed whose one entry is an error: that is
`BadInput`, as is an empty query.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date

from qa.errors import BadInput
from qa.ingest.pipeline import Ingester, Target
from qa.ingest.remote.http import PoliteClient, xml_root
from qa.ingest.remote.pages import RemoteReport, content_name, ingest_page, keep_page
from qa.ingest.sources.atom import ATOM
from qa.papers import ARXIV_ID_RE

OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"
_API_ERROR_ID = "http://arxiv.org/api/errors"
Progress = Callable[[int, int | None], None]  # (entries fetched now, total when known)


@dataclass(frozen=True)
class ApiQuery:
    """What to fetch: IDs, and/or a search (a query, a category, a first submission date), at most `limit` papers."""

    ids: tuple[str, ...] = ()
    query: str | None = None
    category: str | None = None
    since: date | None = None
    limit: int | None = None

    def search_query(self) -> str:
        """The API's ``search_query``: the parts given, joined by AND ("" for IDs only).

        >>> ApiQuery(category="cs.CL", since=date(2025, 1, 1)).search_query()
        'cat:cs.CL AND submittedDate:[202501010000 TO 209912312359]'
        """
        parts = [f"({self.query.strip()})" if self.category or self.since else self.query.strip()] if self.query else []
        parts += [f"cat:{self.category.strip()}"] if self.category else []
        parts += [f"submittedDate:[{self.since:%Y%m%d}0000 TO 209912312359]"] if self.since else []
        return " AND ".join(parts)


def parse_ids(text: str) -> tuple[str, ...]:
    """The arXiv IDs of a comma- or space-separated list (versions dropped); BadInput naming one that is not.

    >>> parse_ids("2505.09388v2, arXiv:2412.15115")
    ('2505.09388', '2412.15115')
    """
    ids = []
    for item in text.replace(",", " ").split():
        m = ARXIV_ID_RE.fullmatch(item)
        if m is None:
            raise BadInput(f"{item[:80]!r} is not an arXiv ID (like 2505.09388)")
        ids.append(m.group("id"))
    return tuple(dict.fromkeys(ids))


def _requests(q: ApiQuery, page_size: int) -> Iterator[dict[str, str]]:
    """The parameters of each page to ask for, while the caller wants more (it stops the generator)."""
    if q.ids and not q.search_query():
        wanted = list(q.ids[: q.limit] if q.limit else q.ids)
        for start in range(0, len(wanted), page_size):
            group = wanted[start : start + page_size]
            yield {"id_list": ",".join(group), "start": "0", "max_results": str(len(group))}
        return
    start = 0
    while True:
        size = page_size if q.limit is None else min(page_size, q.limit - start)
        if size <= 0:
            return
        params = {"search_query": q.search_query(), "start": str(start), "max_results": str(size),
                  "sortBy": "submittedDate", "sortOrder": "descending"}
        if q.ids:
            params["id_list"] = ",".join(q.ids)
        yield params
        start += size


@dataclass
class Page:
    """What one API answer holds: its entries and the total the search found."""

    entries: int
    total: int | None


def read_page(body: bytes, url: str) -> Page:
    """The entry count and total of an API answer; `RemoteError` for malformed XML, `BadInput` for the API's error."""
    root = xml_root(body, url, "the arXiv API", f"{ATOM}feed", "an Atom feed")
    entries = root.findall(f"{ATOM}entry")
    for entry in entries:
        if (entry.findtext(f"{ATOM}id") or "").startswith(_API_ERROR_ID):
            said = " ".join((entry.findtext(f"{ATOM}summary") or "bad query").split())
            raise BadInput(f"the arXiv API refused the query: {said}")
    total = root.findtext(f"{OPENSEARCH}totalResults")
    return Page(len(entries), int(total) if total and total.strip().isdigit() else None)


def fetch(store: Target, q: ApiQuery, progress: Progress | None = None,
          client: PoliteClient | None = None) -> RemoteReport:
    """Fetch the papers `q` names from the arXiv API into `store` (under its write lock)."""
    if not q.ids and not q.search_query():
        raise BadInput("nothing to fetch: give --ids, --query or --category")
    settings = store.settings
    client = client or PoliteClient(settings)
    report = RemoteReport()
    ingester = Ingester(store)
    folder = store.download_dir("api")
    try:
        with store.writing():
            report.ingest.upgraded = ingester.upgrade()
            before = store.embedded
            for params in _requests(q, settings.arxiv_page_size):
                body = client.get(settings.arxiv_api_url, params)
                report.requests += 1
                page = read_page(body, settings.arxiv_api_url)
                if page.entries:
                    ingest_page(ingester, keep_page(folder, content_name(body, ".atom.xml"), body), report)
                report.records += page.entries
                if progress:
                    progress(page.entries, _expected(q, page.total))
                if _last_page(q, page, params):
                    break
            report.ingest.chunks_embedded = store.embedded - before
    finally:
        client.close()
    return report


def _expected(q: ApiQuery, total: int | None) -> int | None:
    """How many entries the fetch will bring, when known."""
    if q.ids and not q.search_query():
        return len(q.ids[: q.limit] if q.limit else q.ids)
    if total is None:
        return q.limit
    return min(total, q.limit) if q.limit else total


def _last_page(q: ApiQuery, page: Page, params: dict[str, str]) -> bool:
    if "search_query" not in params:
        return False  # pages of IDs: each is asked for
    end = int(params["start"]) + page.entries
    return page.entries == 0 or (page.total is not None and end >= page.total)
