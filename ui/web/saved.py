"""Saved conversations of the chat page, kept in <store>/conversations.sqlite.

A conversation belongs to an owner: the signed-in user when ARXIV_QA_AUTH is set, else a random id the
browser keeps in its local storage. Each is one row: its title (the first question until renamed),
when it was last changed, and its turns as JSON (the question, the answer's text for follow-ups, and
the HTML the page showed). Only this module reads or writes the file.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa.errors import StoreError

SAVED_FILE = "conversations.sqlite"
MAX_TITLE_CHARS = 80
MAX_LISTED = 100  # conversations the sidebar lists, newest first
_SCHEMA = """CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY, owner TEXT NOT NULL, title TEXT NOT NULL, updated REAL NOT NULL, turns TEXT NOT NULL)"""


@dataclass(frozen=True)
class SavedTurn:
    """One question and its answer as saved: the text follow-ups read, the HTML the page shows."""

    question: str
    reply: str
    html: str


def new_id() -> str:
    """A random id for a conversation or a browser (not guessable: it is all a browser's owner proves)."""
    return secrets.token_urlsafe(16)


def title_of(text: str) -> str:
    """A title from free text: one line, at most MAX_TITLE_CHARS."""
    line = " ".join(text.split())
    return line if len(line) <= MAX_TITLE_CHARS else line[: MAX_TITLE_CHARS - 1] + "…"


class SavedConversations:
    """The conversations file of a store; every query is limited to one owner's rows."""

    def __init__(self, root: Path) -> None:
        self.path = root / SAVED_FILE
        self._lock = threading.Lock()

    def _db(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=10)
            db.execute(_SCHEMA)
            return db
        except (OSError, sqlite3.Error) as e:
            raise StoreError(f"cannot open the saved conversations in {self.path}: {e}") from None

    def _run(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        with self._lock:
            db = self._db()
            try:
                with db:
                    return db.execute(sql, args).fetchall()
            except sqlite3.Error as e:
                raise StoreError(f"cannot use the saved conversations in {self.path}: {e}") from None
            finally:
                db.close()

    def save(self, owner: str, conversation_id: str, turns: list[SavedTurn]) -> None:
        """Write a conversation's turns (its title: the first question, unless renamed)."""
        data = json.dumps([t.__dict__ for t in turns], ensure_ascii=False)
        title = title_of(turns[0].question) if turns else "(empty)"
        self._run("INSERT INTO conversations VALUES (?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
                  "turns = excluded.turns, updated = excluded.updated WHERE owner = excluded.owner",
                  conversation_id, owner, title, time.time(), data)

    def listed(self, owner: str) -> list[tuple[str, str]]:
        """The owner's conversations, newest first, as (title, id)."""
        rows = self._run("SELECT title, id FROM conversations WHERE owner = ? ORDER BY updated DESC LIMIT ?",
                         owner, MAX_LISTED)
        return [(str(t), str(i)) for t, i in rows]

    def turns(self, owner: str, conversation_id: str) -> list[SavedTurn] | None:
        """A conversation's turns, or None if the owner has no such conversation."""
        rows = self._run("SELECT turns FROM conversations WHERE owner = ? AND id = ?", owner, conversation_id)
        return [SavedTurn(**t) for t in json.loads(rows[0][0])] if rows else None

    def rename(self, owner: str, conversation_id: str, title: str) -> None:
        if title := title_of(title):
            self._run("UPDATE conversations SET title = ? WHERE owner = ? AND id = ?", title, owner, conversation_id)

    def delete(self, owner: str, conversation_id: str) -> None:
        self._run("DELETE FROM conversations WHERE owner = ? AND id = ?", owner, conversation_id)


def browser_secret(root: Path) -> str:
    """The key the page's browser id is kept under in local storage, made once per store (a restarted
    server must read the ids its browsers already hold)."""
    path = root / "browser-secret"
    try:
        if not path.exists():
            root.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(24), encoding="ascii")
            path.chmod(0o600)
        return path.read_text(encoding="ascii").strip()
    except OSError as e:
        raise StoreError(f"cannot keep the page's key in {path}: {e.strerror}") from None
