"""One writer per store: an OS-level lock on ``<store>/write.lock``, held for a whole ingest or repair.

The lock is `fcntl.flock` on the file, so the operating system releases it when its holder exits,
however it exits (`kill -9` included): a lock is never left stale. The holder writes its pid, command
line and start time into the file, so a writer that cannot get the lock can say who has it. A second
writer polls for up to `Settings.write_lock_wait` seconds, then gives up with `StoreBusy`.

Each `WriteLock` opens the file anew, so two threads of one process (the page's uploads and the
first-run ingest of `serve`) exclude each other as two processes do.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import time
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import IO

from qa.errors import StoreBusy, StoreError

LOCK_FILE = "write.lock"
POLL_SECONDS = 0.2


def describe_holder(path: Path) -> str:
    """Who holds the lock, as its holder recorded it: ``pid 123, `arxiv-qa ingest a.jsonl`, since 10:02:07``."""
    try:
        holder = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        holder = {}
    if not isinstance(holder, dict) or "pid" not in holder:
        return "another process"
    return f"pid {holder['pid']}, `{holder.get('command', '?')}`, since {holder.get('since', '?')}"


class WriteLock:
    """The store's write lock; a context manager. `StoreBusy` when another writer keeps it past `wait`."""

    def __init__(self, root: Path, wait: float) -> None:
        self.path = root / LOCK_FILE
        self.wait = wait
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            f = self.path.open("a+", encoding="utf-8")
        except OSError as e:
            raise StoreError(f"cannot lock the store {self.path.parent}: {e.strerror or e}") from None
        deadline = time.monotonic() + self.wait
        while not _try_lock(f):
            if time.monotonic() >= deadline:
                f.close()
                waited = f" after waiting {self.wait:g} s" if self.wait else ""
                raise StoreBusy(f"the store {self.path.parent} is being written by {describe_holder(self.path)}; "
                                f"gave up{waited} (ARXIV_QA_WRITE_LOCK_WAIT)")
            time.sleep(POLL_SECONDS)
        _record_holder(f)
        self._file = f

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing the file releases the lock
            self._file = None

    @property
    def held(self) -> bool:
        return self._file is not None

    def __enter__(self) -> WriteLock:
        self.acquire()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.release()


def _try_lock(f: IO[str]) -> bool:
    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _record_holder(f: IO[str]) -> None:
    program = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python"
    command = " ".join(["arxiv-qa" if program == "cli.py" else program, *sys.argv[1:]])
    holder = {"pid": os.getpid(), "command": command[:200],
              "since": datetime.now().astimezone().isoformat(timespec="seconds")}
    try:
        f.seek(0)
        f.truncate()
        f.write(json.dumps(holder))
        f.flush()
    except OSError:
        pass  # who holds the lock is only information; the lock itself is held
