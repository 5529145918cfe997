"""Pages fetched from arXiv kept as files in the store, and ingested as any file is."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from qa.ingest.pipeline import Ingester, IngestReport


@dataclass
class RemoteReport:
    """What one fetch or harvest did."""

    requests: int = 0  # pages asked for
    records: int = 0  # records arXiv sent
    new_papers: int = 0  # papers the store did not hold before
    ingest: IngestReport = field(default_factory=IngestReport)


def content_name(body: bytes, suffix: str) -> str:
    """A file name from a page's content: the same page fetched again is the same file."""
    return hashlib.sha256(body).hexdigest()[:20] + suffix


def keep_page(folder: Path, name: str, body: bytes) -> Path:
    """Write `body` to `folder/name` whole or not at all (a kill mid-write leaves no half page)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    tmp = path.with_name(f".{name}.tmp")
    with tmp.open("wb") as f:
        f.write(body)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)
    return path


def ingest_page(ingester: Ingester, path: Path, report: RemoteReport) -> None:
    """Ingest one kept page; what it changed is added to `report`."""
    before = ingester.store.paper_count()
    ingester.ingest_file(path, report.ingest)
    report.new_papers += ingester.store.paper_count() - before
