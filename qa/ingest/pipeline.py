"""Ingest: files in, papers merged into the catalog, chunks embedded into the vector store.

Per file: detect the format, stream its records in batches, merge each batch into the catalog and
embed what changed, committing batch by batch, all under the store's write lock (one writer at a
time, `qa.index.lock`). A file whose content hash is recorded is skipped;
a file only partly ingested (killed mid-way) is simply run again: merging is idempotent and chunk
IDs are deterministic, so nothing is duplicated. Sources a re-ingested file no longer carries are
dropped at its end (a changed abstract replaces its old chunks).

Each record's LaTeX is made text as it is read (`qa.ingest.merge.cleaned`): what is merged, chunked, embedded
and shown is the cleaned text; the catalog keeps the original. A store whose texts were stored by an
older version (the catalog's `text_form` is not `TEXT_FORM`) is brought up to date first: every paper
cleaning changes is stored again, re-chunked and re-embedded, whether or not its files changed.

The model embeds the next few batches in a background thread while the current one is merged,
written and committed (`Writer.prefetch`); only what a batch commits is ever written.

Ingest writes through the store's writer, `qa.index.writer.Writer`, as the `Target` it declares here:
the index depends on ingest's parts (chunks, model), never the other way round.
"""

from __future__ import annotations

import glob
import hashlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from importlib.resources import files
from itertools import islice
from pathlib import Path
from typing import Protocol, TypeVar

from qa.errors import BadInput
from qa.ingest.merge import Merger, PaperIndex, as_new, cleaned, without_sources
from qa.ingest.sources import detect_format, read_papers
from qa.limits import Limits
from qa.papers import Paper, Source, Variant, normalize_text
from qa.settings import Settings

T = TypeVar("T")
Progress = Callable[[int], None]
# Batches read, chunked and queued for the model ahead of their turn, so the model stays busy while
# the current ones are merged and stored.
PREFETCH_BATCHES = 4
# How stored texts are made from what sources give (meta `text_form`): another value, or none, re-cleans them.
TEXT_FORM = "latex-text-1"


class Target(PaperIndex, Protocol):
    """What ingest writes through (`qa.index.writer.Writer`): the catalog's papers and files, batches, vectors."""

    settings: Settings
    embedded: int  # chunks embedded so far

    def paper(self, doc_key: str) -> Paper | None: ...
    def file_done(self, path: str, sha256: str) -> bool: ...
    def mark_file(self, path: str, sha256: str, records: int) -> None: ...
    def papers_of_file(self, path: str) -> list[Paper]: ...
    def forget_file(self, path: str, doc_key: str) -> None: ...
    def meta(self, key: str) -> str | None: ...
    def set_meta(self, key: str, value: str) -> None: ...
    def paper_keys(self) -> list[str]: ...
    def paper_count(self) -> int: ...
    def download_dir(self, name: str) -> Path: ...
    def batch(self) -> AbstractContextManager[None]: ...
    def writing(self) -> AbstractContextManager[None]: ...
    def sync(self, papers: Iterable[Paper], gone: Iterable[str] = ()) -> int: ...
    def prefetch(self, batches: list[list[Paper]]) -> None: ...
    def end_prefetch(self) -> None: ...


def bundled_corpus() -> Path:
    """The sample corpus shipped inside the package."""
    return Path(str(files("qa") / "corpus"))


@dataclass
class IngestReport:
    """What one ingest did. `errors` says, one line each, what was left out (see `ingest`)."""

    files: int = 0
    skipped_files: int = 0  # unchanged since they were ingested
    bad_files: int = 0  # left out whole
    partial_files: int = 0  # read up to a bad record
    records: int = 0
    skipped_records: int = 0  # over a size limit
    chunks_embedded: int = 0
    upgraded: int = 0  # stored papers whose texts an older version had not cleaned (`Ingester.upgrade`)
    errors: list[str] = field(default_factory=list)


class _UpToBad:
    """The records of a file up to its first bad one, whose error is kept in `error`."""

    def __init__(self, records: Iterator[Paper]) -> None:
        self.records = records
        self.error: BadInput | None = None

    def __iter__(self) -> Iterator[Paper]:
        try:
            yield from self.records
        except BadInput as e:
            self.error = e


def expand_paths(args: Iterable[str]) -> tuple[list[Path], list[str]]:
    """Files named by `args` (files, directories, globs), sorted and unique; and the args that name nothing."""
    found: dict[Path, None] = {}
    missing = []
    for arg in args:
        path = Path(arg).expanduser()
        if path.is_dir():
            hits = [p for p in sorted(path.rglob("*")) if p.is_file() and not p.name.startswith(".")]
        elif path.is_file():
            hits = [path]
        else:
            hits = [Path(p) for p in sorted(glob.glob(str(path), recursive=True)) if Path(p).is_file()]
        if not hits:
            missing.append(f"{arg}: no such file or directory")
        found.update((p.resolve(), None) for p in hits)
    return list(found), missing


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    it = iter(items)
    while batch := list(islice(it, size)):
        yield batch


def _text_hash(text: str) -> bytes:
    return hashlib.blake2b(normalize_text(text).encode(), digest_size=8).digest()


class Ingester:
    """Runs ingest against one store."""

    def __init__(self, store: Target, progress: Progress | None = None) -> None:
        self.store = store
        self.merger = Merger(store)
        self.progress = progress or (lambda n: None)

    def ingest_file(self, path: Path, report: IngestReport) -> None:
        """One file, batch by batch. Raises `UnrecognisedFormat` when it is left out whole.

        A bad record stops the file there: the records before it are stored and the file is reported
        partly ingested. A record over a size limit is left out and the rest read. Either way the
        file is not recorded as done, so the next run reads it again (storing nothing twice) and
        says the same, until the file is mended or the limit raised.
        """
        detect_format(path)
        name, sha = str(path), file_sha256(path)
        if self.store.file_done(name, sha):
            report.skipped_files += 1
            return
        # Track which text each record carries only when the file was seen before (a re-ingest).
        seen: dict[Source, bytes] | None = {} if self.store.papers_of_file(name) else None
        s = self.store.settings
        limits = Limits(s.max_abstract_chars, s.max_line_chars)
        records = _UpToBad(read_papers(path, limits))
        count = self._store_records(map(cleaned, records), seen)
        report.files += 1
        report.records += count
        report.skipped_records += limits.skipped
        report.errors += limits.notes
        if records.error is not None:
            report.partial_files += 1
            report.errors.append(f"the rest of {records.error}: the {count:,} records before it are stored")
            return
        with self.store.batch():
            if seen is not None:
                self._drop_stale(name, seen)
            if not limits.skipped:  # a file is done when all of it is in: else the next run reads it again
                self.store.mark_file(name, sha, count)

    def _store_records(self, records: Iterable[Paper], seen: dict[Source, bytes] | None) -> int:
        """Merge, embed and commit `records` batch by batch; how many there were."""
        count = 0
        batches = _batches(records, self.store.settings.ingest_batch)
        ahead: deque[list[Paper]] = deque()  # read, and handed to the model in the background

        def read_ahead() -> None:
            group = list(islice(batches, PREFETCH_BATCHES))
            if group:
                self.store.prefetch([[as_new(r) for r in batch] for batch in group])
                ahead.extend(group)

        try:
            read_ahead()
            while ahead:
                if len(ahead) <= PREFETCH_BATCHES:
                    read_ahead()  # the next group is embedded while this one is merged and stored
                batch = ahead.popleft()
                with self.store.batch():
                    touched = {p.doc_key: p for p in map(self.merger.add, batch)}
                    self.store.sync(self._current(touched))
                if seen is not None:
                    seen.update((r.sources[0], _text_hash(r.abstract)) for r in batch)
                count += len(batch)
                self.progress(len(batch))
        finally:
            self.store.end_prefetch()
        return count

    def _current(self, touched: dict[str, Paper]) -> list[Paper]:
        # A paper touched twice in a batch may have been re-keyed since: keep what the catalog holds.
        return [p for key in touched if (p := self.store.paper(key)) is not None]

    def upgrade(self) -> int:
        """Clean the texts of a store made by an older version (see the module's doc); how many papers changed."""
        if self.store.meta("text_form") == TEXT_FORM:
            return 0
        keys = self.store.paper_keys()
        changed = 0
        for group in _batches(keys, self.store.settings.ingest_batch):
            with self.store.batch():
                changed += self._clean_stored(group)
        with self.store.batch():
            self.store.set_meta("text_form", TEXT_FORM)
        return changed

    def _clean_stored(self, keys: list[str]) -> int:
        changed = []
        for key in keys:
            paper = self.store.paper(key)
            fresh = cleaned(paper) if paper is not None else None
            if fresh is not None and fresh != paper:
                self.store.put(fresh, key)
                changed.append(fresh)
        self.store.sync(changed)
        return len(changed)

    def _drop_stale(self, name: str, seen: dict[Source, bytes]) -> None:
        changed, gone = [], []

        def stale(variant: Variant, source: Source) -> bool:
            return source.file == name and seen.get(source) != _text_hash(variant.text)

        for paper in self.store.papers_of_file(name):
            if not any(stale(v, s) for v in paper.variants for s in v.sources):
                continue
            kept = without_sources(paper, stale)
            if kept is None:
                gone.append(paper.doc_key)
                continue
            self.store.put(kept, paper.doc_key)
            if not any(s.file == name for s in kept.sources):
                self.store.forget_file(name, kept.doc_key)
            changed.append(kept)
        self.store.sync(changed, gone)


def ingest(store: Target, args: Iterable[str] = (), progress: Progress | None = None) -> IngestReport:
    """Ingest files, directories and globs (none: the bundled corpus) under the store's write lock.

    Bad input is reported in `IngestReport.errors`, never fatal: a file of no known layout is left
    out whole; a file with a bad record is read up to it (the records before it are stored); a
    record over a size limit is left out and the rest of its file read. A store that cannot be
    written, or that another writer holds past `Settings.write_lock_wait`, raises `StoreError`.
    """
    args = list(args) or [str(bundled_corpus())]
    paths, missing = expand_paths(args)
    report = IngestReport(bad_files=len(missing), errors=list(missing))
    if not paths:
        return report
    ingester = Ingester(store, progress)
    before = store.embedded
    with store.writing():
        report.upgraded = ingester.upgrade()
        for path in paths:
            try:
                ingester.ingest_file(path, report)
            except BadInput as e:
                report.bad_files += 1
                report.errors.append(str(e))
    report.chunks_embedded = store.embedded - before
    return report
