"""Abstract files uploaded from the page, ingested in a background thread with visible progress.

Only files that came in through the page's upload route are taken (`UploadGate`): the handler is
reachable over Gradio's API, and a path named there could otherwise be any file on the server.
Uploads are copied into <store>/uploads/ under their own names first (Gradio's temp copies do not
last), so the catalog records a path that stays, and uploading a changed file of the same name
replaces what the old one contributed, as `arxiv-qa ingest` does.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gradio.utils import get_upload_folder

from qa.errors import BadInput, QAError
from qa.index.writer import Writer
from qa.ingest import IngestReport, ingest

UPLOADS_DIR = "uploads"
MB = 1024 * 1024


@dataclass
class IngestStatus:
    """What the background ingest is doing, as the page shows it."""

    running: bool = False
    files: int = 0
    papers: int = 0
    message: str = ""
    errors: list[str] = field(default_factory=list)


class UploadGate:
    """Which paths the upload handler may ingest: files Gradio's upload route received (`uploaded`,
    the set it records them in), inside its upload folder once symlinks are resolved, and at most
    `max_bytes` long. BadInput for anything else, naming no server path."""

    def __init__(self, max_bytes: int, uploaded: Collection[str] = ()) -> None:
        self.max_bytes = max_bytes
        self.uploaded = uploaded

    def check(self, paths: Sequence[str]) -> list[str]:
        folder = Path(get_upload_folder()).resolve()
        received = {os.path.realpath(p) for p in self.uploaded}
        for path in paths:
            real = Path(os.path.realpath(path))
            if str(real) not in received or not real.is_relative_to(folder) or not real.is_file():
                raise BadInput(f"{Path(path).name} was not uploaded through this page")
            if real.stat().st_size > self.max_bytes:
                raise BadInput(f"{real.name} is over the upload limit of {self.max_bytes / MB:g} MB")
        return list(paths)


class IngestJob:
    """At most one ingest of uploaded files at a time, in a thread; `status()` is safe to poll."""

    def __init__(self, store: Writer, gate: UploadGate | None = None) -> None:
        self.store = store
        self.gate = gate or UploadGate(store.settings.max_upload_mb * MB)
        self._lock = threading.Lock()
        self._status = IngestStatus()
        self._thread: threading.Thread | None = None

    def status(self) -> IngestStatus:
        with self._lock:
            return IngestStatus(**vars(self._status))

    def start(self, uploaded: Sequence[str]) -> IngestStatus:
        """Copy the uploaded files into the store and start ingesting them; BadInput if busy or none."""
        if not uploaded:
            raise BadInput("choose one or more abstract files first")
        uploaded = self.gate.check(uploaded)
        with self._lock:
            if self._status.running:
                raise BadInput("an upload is still being ingested; wait for it to finish")
            paths = self._keep(uploaded)
            self._status = IngestStatus(running=True, files=len(paths), message=f"ingesting {len(paths)} file(s)")
        self._thread = threading.Thread(target=self._run, args=(paths,), name="arxiv-qa-ingest", daemon=True)
        self._thread.start()
        return self.status()

    def wait(self, timeout: float | None = None) -> IngestStatus:
        """Block until the running ingest ends (for tests and shutdown)."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.status()

    def _keep(self, uploaded: Sequence[str]) -> list[Path]:
        target = self.store.root / UPLOADS_DIR
        try:
            target.mkdir(parents=True, exist_ok=True)
            return [Path(shutil.copyfile(src, target / Path(src).name)) for src in uploaded]
        except OSError as e:
            raise BadInput(f"cannot keep the uploaded file: {e.strerror}") from None

    def _progress(self, papers: int) -> None:
        with self._lock:
            self._status.papers += papers
            self._status.message = f"ingesting {self._status.files} file(s): {self._status.papers:,} records read"

    def _run(self, paths: list[Path]) -> None:
        # An unexpected error still ends the job (and is logged by the thread's excepthook).
        message, errors = "ingest failed; see the server log", []
        try:
            report = ingest(self.store, [str(p) for p in paths], progress=self._progress)
            message, errors = summary(report), report.errors
        except QAError as e:
            message = f"ingest failed: {e}"
        finally:
            self._finish(message, errors)

    def _finish(self, message: str, errors: list[str]) -> None:
        with self._lock:
            self._status.running = False
            self._status.message = message
            self._status.errors = [e.replace(str(self.store.root / UPLOADS_DIR) + "/", "") for e in errors]


def summary(report: IngestReport) -> str:
    """One line on what an ingest did."""
    line = (f"done: {report.files} file(s) ingested, {report.records:,} records, "
            f"{report.chunks_embedded:,} new chunks")
    if report.skipped_files:
        line += f", {report.skipped_files} unchanged"
    if report.errors:
        line += f", {len(report.errors)} could not be read"
    return line
