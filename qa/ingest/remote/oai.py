"""`arxiv-qa harvest`: new and changed arXiv papers of a set, by OAI-PMH, from where the last harvest ended.

    https://oaipmh.arxiv.org/oai?verb=ListRecords&metadataPrefix=arXiv&set=cs&from=2025-06-01
    https://oaipmh.arxiv.org/oai?verb=ListRecords&resumptionToken=...

Each answer is a page of records and a resumption token for the next. A page is kept in the store
under a name made from the set, the window and its number (so a harvest run again writes the same
files), ingested, and only then is the token for the next page recorded in the catalog (meta
``harvest:<set>:<prefix>``). Killed, a harvest run again with no ``--from`` (or the same window)
resumes at that page; a token the server no longer knows starts the window again, which re-reads
pages but embeds nothing twice. A finished harvest records the date of its first answer: the next
one asks from that day on, so nothing published during a harvest is missed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date

from qa.errors import BadInput, RemoteError
from qa.ingest.pipeline import Ingester, Target
from qa.ingest.remote.http import PoliteClient, xml_root
from qa.ingest.remote.pages import RemoteReport, ingest_page, keep_page
from qa.ingest.sources.oai import OAI

PREFIXES = ("arXiv", "arXivRaw")
Progress = Callable[[int, int | None], None]  # (records fetched now, the list's size when known)


@dataclass
class HarvestState:
    """Where a harvest of one set stands, as the catalog keeps it."""

    start: str | None = None  # the window asked for (YYYY-MM-DD, None: open)
    until: str | None = None
    token: str | None = None  # the resumption token of the next page; None with `page` 0: not begun
    page: int = 0  # pages done
    begun: str | None = None  # the date of the window's first answer
    done: bool = True
    last: str | None = None  # where the last finished harvest ended (the next one's `from`)


@dataclass
class Answer:
    """One OAI-PMH answer: its date, how many records, the next token and the list's size."""

    date: str
    records: int
    token: str | None
    size: int | None


def _state_key(set_spec: str, prefix: str) -> str:
    return f"harvest:{set_spec}:{prefix}"


def load_state(store: Target, set_spec: str, prefix: str) -> HarvestState:
    raw = store.meta(_state_key(set_spec, prefix))
    return HarvestState(**json.loads(raw)) if raw else HarvestState()


def read_answer(body: bytes, url: str) -> Answer:
    """What an OAI-PMH answer says; `RemoteError` for malformed XML, `BadInput` for an OAI-PMH error
    (but ``noRecordsMatch``, an empty harvest, and ``badResumptionToken``, reported as a token of "")."""
    root = xml_root(body, url, "the OAI-PMH endpoint", f"{OAI}OAI-PMH", "OAI-PMH")
    day = (root.findtext(f"{OAI}responseDate") or "").strip()[:10]
    error = root.find(f"{OAI}error")
    if error is not None:
        code = error.get("code", "")
        if code == "noRecordsMatch":
            return Answer(day, 0, None, 0)
        if code == "badResumptionToken":
            return Answer(day, 0, "", None)
        raise BadInput(f"the OAI-PMH endpoint refused the harvest: {code}: {' '.join((error.text or '').split())}")
    records = root.findall(f"{OAI}ListRecords/{OAI}record")
    token_elem = root.find(f"{OAI}ListRecords/{OAI}resumptionToken")
    token = (token_elem.text or "").strip() or None if token_elem is not None else None
    size = token_elem.get("completeListSize") if token_elem is not None else None
    return Answer(day, len(records), token, int(size) if size and size.isdigit() else None)


def _page_name(set_spec: str, prefix: str, state: HarvestState) -> str:
    window = f"{state.start or 'start'}_{state.until or state.begun or 'now'}"
    return re.sub(r"[^\w.-]", "_", f"{set_spec}-{prefix}-{window}-{state.page + 1:05d}") + ".xml"


def _plan(old: HarvestState, start: date | None, until: date | None) -> HarvestState:
    """The harvest to run: the unfinished one when it is asked for again (or nothing is asked), else a new window."""
    wanted = (start.isoformat() if start else None, until.isoformat() if until else None)
    if not old.done and (wanted == (None, None) or wanted == (old.start, old.until)):
        return old
    return HarvestState(start=wanted[0] or old.last, until=wanted[1], done=False, last=old.last)


def harvest(store: Target, set_spec: str, start: date | None = None, until: date | None = None,
            prefix: str = "arXiv", progress: Progress | None = None,
            client: PoliteClient | None = None) -> RemoteReport:
    """Harvest the set `set_spec` into `store` (under its write lock); see the module's doc."""
    if prefix not in PREFIXES:
        raise BadInput(f"unknown metadata format {prefix!r} (arXiv or arXivRaw)")
    if start and until and start > until:
        raise BadInput("--from is after --until")
    client = client or PoliteClient(store.settings)
    report = RemoteReport()
    try:
        with store.writing():
            before = store.embedded
            report.ingest.upgraded = Ingester(store).upgrade()
            state = _plan(load_state(store, set_spec, prefix), start, until)
            _run(store, set_spec, prefix, state, report, progress, client)
            report.ingest.chunks_embedded = store.embedded - before
    finally:
        client.close()
    return report


def _params(set_spec: str, prefix: str, state: HarvestState) -> dict[str, str]:
    if state.token:
        return {"verb": "ListRecords", "resumptionToken": state.token}
    params = {"verb": "ListRecords", "metadataPrefix": prefix, "set": set_spec}
    params.update({k: v for k, v in (("from", state.start), ("until", state.until)) if v})
    return params


def _run(store: Target, set_spec: str, prefix: str, state: HarvestState, report: RemoteReport,
         progress: Progress | None, client: PoliteClient) -> None:
    url, ingester, folder = store.settings.oai_url, Ingester(store), store.download_dir("oai")
    restarted = False
    while True:
        body = client.get(url, _params(set_spec, prefix, state))
        report.requests += 1
        answer = read_answer(body, url)
        if answer.token == "":  # the server forgot the token: start the window again, once
            if restarted or state.token is None:
                raise RemoteError(f"{url}: the OAI-PMH endpoint refused its own resumption token")
            restarted, state.token, state.page = True, None, 0
            continue
        state.begun = state.begun or answer.date or None
        if answer.records:
            ingest_page(ingester, keep_page(folder, _page_name(set_spec, prefix, state), body), report)
        report.records += answer.records
        if progress:
            progress(answer.records, answer.size)
        state.token, state.page = answer.token, state.page + 1
        if state.token is None:
            state.done, state.last = True, state.until or state.begun or state.last
        with store.batch():
            store.set_meta(_state_key(set_spec, prefix), json.dumps(asdict(state)))
        if state.done:
            return
