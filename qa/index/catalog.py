"""The paper catalog: merged papers, their lookup keys, which files fed them and which chunks they own.

A small SQLite database in the store directory. It is the merge state (a `PaperIndex` for
`qa.ingest.merge.Merger`) and the ledger that makes ingest incremental: a file whose content hash is
recorded as done is skipped, and a paper's chunks are re-embedded only when their signature changes.
A paper's abstract is stored as ingest cleaned it (`qa.ingest.merge.cleaned`); the text its source gave, when
cleaning changed it, in the column `abstract_raw` (and each variant's in its `raw`).
Only `qa.index.store` opens it; opening a catalog made by an older version runs the migrations it lacks.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import date
from pathlib import Path

from qa.ingest.merge import band_keys
from qa.papers import ARXIV_ID_RE, Paper, Source, Variant

# The schema, version by version: MIGRATIONS[n] brings a catalog at version n to n + 1, and a new
# catalog runs them all. SQLite's `user_version` holds the version a catalog has reached (0: made
# before versions were kept, by then holding the first schema or more; the migrations check).
# A later field is one more function at the end of MIGRATIONS.
_SCHEMA_1 = """
CREATE TABLE IF NOT EXISTS papers (
    doc_key TEXT PRIMARY KEY, arxiv_id TEXT UNIQUE, data TEXT NOT NULL,
    chunk_ids TEXT NOT NULL DEFAULT '[]', chunk_sig TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS keys (key TEXT NOT NULL, doc_key TEXT NOT NULL, PRIMARY KEY (key, doc_key)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS keys_by_doc ON keys (doc_key);
CREATE TABLE IF NOT EXISTS paper_files (
    file TEXT NOT NULL, doc_key TEXT NOT NULL, PRIMARY KEY (file, doc_key)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS files_by_doc ON paper_files (doc_key);
CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, sha256 TEXT NOT NULL, records INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)
"""


def _create_tables(db: sqlite3.Connection) -> None:
    for statement in _SCHEMA_1.split(";"):  # one by one: `executescript` would commit the migration's transaction
        db.execute(statement)


def _add_abstract_raw(db: sqlite3.Connection) -> None:
    """The text a source gave before its LaTeX was made text (`qa.ingest.merge.cleaned`)."""
    if "abstract_raw" not in {row[1] for row in db.execute("PRAGMA table_info(papers)")}:
        db.execute("ALTER TABLE papers ADD COLUMN abstract_raw TEXT")


def _add_metadata_columns(db: sqlite3.Connection) -> None:
    """Categories and authors as columns the category and author filters search (`keys_matching`).

    Filled from what each paper already holds; titles, dates, versions, DOI and journal-ref stay in
    `data`, where a paper read by an older version simply has none of the fields it did not keep.
    """
    columns = {row[1] for row in db.execute("PRAGMA table_info(papers)")}
    for name in ("categories", "authors"):
        if name not in columns:
            db.execute(f"ALTER TABLE papers ADD COLUMN {name} TEXT NOT NULL DEFAULT ''")
    db.execute(
        "UPDATE papers SET authors = COALESCE(json_extract(data, '$.authors'), ''), categories = COALESCE("
        "(SELECT ' ' || group_concat(value, ' ') || ' ' FROM json_each(data, '$.categories')), '')")



def _add_mentions_and_journal(db: sqlite3.Connection) -> None:
    """The arXiv IDs each paper's record mentions (`mentions`, filled here for the papers already stored),
    so finding the papers that mention an ID is an index lookup, not a scan; and the journal of papers
    whose chunks changed (`chunk_changes`), so a derived index catches up with the papers changed since
    it was built instead of rebuilding."""
    db.execute("CREATE TABLE IF NOT EXISTS chunk_changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
               "doc_key TEXT NOT NULL)")
    db.execute("CREATE TABLE IF NOT EXISTS mentions (arxiv_id TEXT NOT NULL, doc_key TEXT NOT NULL, "
               "PRIMARY KEY (arxiv_id, doc_key)) WITHOUT ROWID")
    db.execute("CREATE INDEX IF NOT EXISTS mentions_by_doc ON mentions (doc_key)")
    db.execute("DELETE FROM mentions")
    for key, data in db.execute("SELECT doc_key, data FROM papers").fetchall():
        _set_mentions(db, key, data)


def _add_journal_first(db: sqlite3.Connection) -> None:
    """Whether a journal entry gave a paper its first chunks (`Catalog.new_since`): an index catching up need
    not look for older rows of such a paper."""
    if "first" not in {row[1] for row in db.execute("PRAGMA table_info(chunk_changes)")}:
        db.execute("ALTER TABLE chunk_changes ADD COLUMN first INTEGER NOT NULL DEFAULT 0")


def _add_loose_keys(db: sqlite3.Connection) -> None:
    """The lookup keys of the papers without an arXiv ID (`loose_keys`) apart: a record with an ID may only be
    merged into one of those, so looking it up reads a table as small as they are few, not the keys of
    every paper (at a million papers, seconds of reads from disk per thousand records)."""
    db.execute("CREATE TABLE IF NOT EXISTS loose_keys (key TEXT NOT NULL, doc_key TEXT NOT NULL, "
               "PRIMARY KEY (key, doc_key)) WITHOUT ROWID")
    db.execute("CREATE INDEX IF NOT EXISTS loose_keys_by_doc ON loose_keys (doc_key)")
    db.execute("DELETE FROM loose_keys")
    db.execute("INSERT INTO loose_keys SELECT k.key, k.doc_key FROM keys k WHERE k.doc_key IN "
               "(SELECT doc_key FROM papers WHERE arxiv_id IS NULL)")


MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (
    _create_tables, _add_abstract_raw, _add_metadata_columns, _add_mentions_and_journal, _add_journal_first,
    _add_loose_keys)
SCHEMA_VERSION = len(MIGRATIONS)
_PAPER = "data, abstract_raw"  # what `_paper` reads


def paper_to_json(paper: Paper) -> str:
    """A Paper as the catalog stores it in `data` (its `abstract_raw` has a column of its own)."""
    d = asdict(paper)
    del d["abstract_raw"]
    for name in ("created", "updated"):
        d[name] = d[name].isoformat() if d[name] else None
    for v in d["variants"]:
        if v["raw"] is None:
            del v["raw"]
    return json.dumps(d, ensure_ascii=False)


def paper_from_json(text: str, abstract_raw: str | None = None) -> Paper:
    """The inverse of `paper_to_json`."""
    d = json.loads(text)
    for name in ("created", "updated"):
        d[name] = date.fromisoformat(d[name]) if d.get(name) else None
    d["sources"] = [Source(**s) for s in d["sources"]]
    d["variants"] = [Variant(v["text"], [Source(**s) for s in v["sources"]], v.get("raw")) for v in d["variants"]]
    return Paper(**d, abstract_raw=abstract_raw)


def category_column(categories: list[str]) -> str:
    """The `categories` column of a paper: each category between spaces, so ``LIKE '% cs.CL %'`` finds one."""
    return f" {' '.join(categories)} " if categories else ""


def mentioned_ids(data: str) -> set[str]:
    """Every arXiv ID a stored record (`paper_to_json`) mentions, without versions, as `mentioning` finds them.

    >>> sorted(mentioned_ids('{"comments": "extends arXiv:2401.01234v2 and hep-th/9901001"}'))
    ['2401.01234', 'hep-th/9901001']
    """
    return {m.group("id").lower() for m in ARXIV_ID_RE.finditer(data)}


def _set_mentions(db: sqlite3.Connection, doc_key: str, data: str) -> None:
    db.execute("DELETE FROM mentions WHERE doc_key = ?", (doc_key,))
    db.executemany("INSERT OR IGNORE INTO mentions VALUES (?, ?)", [(i, doc_key) for i in mentioned_ids(data)])


def _paper(row: tuple[str, str | None]) -> Paper:
    return paper_from_json(*row)


def _like(text: str) -> str:
    """`text` as a literal inside a LIKE pattern."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _names_match(authors: str, wanted: str) -> bool:
    """Does some word run of `authors` read `wanted` (case aside)? "Lin" finds "Junyang Lin", not "Collins"."""
    return re.search(rf"(?<!\w){re.escape(wanted.strip())}(?!\w)", authors, re.IGNORECASE) is not None


class Catalog:
    """SQLite-backed catalog of merged papers."""

    def __init__(self, path: Path) -> None:
        # On a read-only file system SQLite cannot even read a WAL database in place: answer from a
        # private copy (with its WAL), and refuse writes (`Writer.batch`).
        self.read_only = path.exists() and not os.access(path.parent, os.W_OK)
        if self.read_only:
            copy = Path(tempfile.mkdtemp(prefix="arxiv-qa-ro-")) / path.name
            for suffix in ("", "-wal"):
                if Path(f"{path}{suffix}").exists():
                    shutil.copyfile(f"{path}{suffix}", f"{copy}{suffix}")
            path = copy
        self.path = path
        self._local = threading.local()  # one connection per thread: servers answer in several
        self._migrate()

    @property
    def version(self) -> int:
        """The schema version this catalog has reached (`SCHEMA_VERSION` once open)."""
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        """Bring a catalog made by an older version up to `SCHEMA_VERSION` (looked at again inside the transaction)."""
        if self.version >= SCHEMA_VERSION:
            return
        with self.transaction():
            for migration in MIGRATIONS[self.version :]:
                migration(self.db)
            self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @property
    def db(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=30)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All or nothing: what a batch changes is committed together, or not at all."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # --- PaperIndex ---
    def by_id(self, arxiv_id: str) -> Paper | None:
        row = self.db.execute(f"SELECT {_PAPER} FROM papers WHERE arxiv_id = ?", (arxiv_id,)).fetchone()
        return _paper(row) if row else None

    def get(self, doc_key: str) -> Paper | None:
        row = self.db.execute(f"SELECT {_PAPER} FROM papers WHERE doc_key = ?", (doc_key,)).fetchone()
        return _paper(row) if row else None

    def candidates(self, keys: list[str], without_id: bool = False) -> list[Paper]:
        marks = ",".join("?" * len(keys))
        rows = self.db.execute(
            f"SELECT DISTINCT p.data, p.abstract_raw FROM {'loose_keys' if without_id else 'keys'} k "
            f"JOIN papers p ON p.doc_key = k.doc_key WHERE k.key IN ({marks}) ORDER BY p.doc_key",
            keys,
        )
        return [_paper(r) for r in rows]

    def put(self, paper: Paper, old_key: str | None) -> None:
        key = paper.doc_key
        if old_key and old_key != key:
            self.db.execute(
                "INSERT INTO papers (doc_key, arxiv_id, data, chunk_ids, chunk_sig, abstract_raw) "
                "SELECT ?, ?, data, chunk_ids, '', abstract_raw FROM papers WHERE doc_key = ?",
                (key, paper.arxiv_id, old_key),
            )
            self.delete(old_key)
        self.db.execute(
            "INSERT INTO papers (doc_key, arxiv_id, data, abstract_raw, categories, authors) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (doc_key) DO UPDATE SET arxiv_id = excluded.arxiv_id, data = excluded.data, "
            "abstract_raw = excluded.abstract_raw, categories = excluded.categories, authors = excluded.authors",
            (key, paper.arxiv_id, paper_to_json(paper), paper.abstract_raw, category_column(paper.categories),
             paper.authors or ""),
        )
        self.db.execute("DELETE FROM keys WHERE doc_key = ?", (key,))
        self.db.execute("DELETE FROM loose_keys WHERE doc_key = ?", (key,))
        keys = [(k, key) for v in paper.variants for k in band_keys(v.text)]
        self.db.executemany("INSERT OR IGNORE INTO keys VALUES (?, ?)", keys)
        if paper.arxiv_id is None:
            self.db.executemany("INSERT OR IGNORE INTO loose_keys VALUES (?, ?)", keys)
        self.db.executemany(
            "INSERT OR IGNORE INTO paper_files VALUES (?, ?)", [(f, key) for f in {s.file for s in paper.sources}]
        )
        _set_mentions(self.db, key, paper_to_json(paper))

    def delete(self, doc_key: str) -> None:
        """Forget a paper (its chunk IDs must have been taken care of by the caller)."""
        for table in ("papers", "keys", "loose_keys", "paper_files", "mentions"):
            self.db.execute(f"DELETE FROM {table} WHERE doc_key = ?", (doc_key,))
        self.db.execute("INSERT INTO chunk_changes (doc_key) VALUES (?)", (doc_key,))

    # --- chunks ---
    def chunk_state(self, doc_key: str) -> tuple[list[str], str]:
        """The chunk IDs a paper owns in the vector store, and their signature."""
        row = self.db.execute("SELECT chunk_ids, chunk_sig FROM papers WHERE doc_key = ?", (doc_key,)).fetchone()
        return (json.loads(row[0]), row[1]) if row else ([], "")

    def set_chunks(self, doc_key: str, chunk_ids: list[str], sig: str, first: bool = False) -> None:
        """Record a paper's chunks; `first`: it had none before (a new paper)."""
        self.db.execute(
            "UPDATE papers SET chunk_ids = ?, chunk_sig = ? WHERE doc_key = ?", (json.dumps(chunk_ids), sig, doc_key)
        )
        self.db.execute("INSERT INTO chunk_changes (doc_key, first) VALUES (?, ?)", (doc_key, int(first)))

    def last_change(self) -> int:
        """The number of the latest entry of the change journal (0 when empty)."""
        row = self.db.execute("SELECT MAX(seq) FROM chunk_changes").fetchone()
        return int(row[0] or 0)

    def changed_since(self, after: int, upto: int) -> list[str] | None:
        """The papers whose chunks changed in journal entries `after` < seq <= `upto`, or None when the
        journal no longer reaches back to `after` (then whatever was built at `after` must be rebuilt)."""
        first = self.db.execute("SELECT MIN(seq) FROM chunk_changes").fetchone()[0]
        if after > upto or (first is not None and first > after + 1 and after < upto):
            return None
        rows = self.db.execute("SELECT DISTINCT doc_key FROM chunk_changes WHERE seq > ? AND seq <= ? ORDER BY doc_key",
                               (after, upto))
        return [r[0] for r in rows]

    def new_since(self, after: int, upto: int) -> set[str]:
        """The papers among `changed_since` whose every change in that range gave them their first chunks: papers
        that had none before `after`."""
        rows = self.db.execute("SELECT doc_key FROM chunk_changes WHERE seq > ? AND seq <= ? GROUP BY doc_key "
                               "HAVING MIN(first) = 1", (after, upto))
        return {r[0] for r in rows}

    def forget_changes(self, upto: int) -> None:
        """Drop the journal entries up to `upto` (an index saved at `upto` no longer needs them)."""
        self.db.execute("DELETE FROM chunk_changes WHERE seq <= ?", (upto,))

    def orphan_chunk_ids(self, doc_key: str) -> list[str]:
        """Chunk IDs recorded for a key being deleted (to remove from the vector store)."""
        return self.chunk_state(doc_key)[0]

    # --- files ---
    def file_done(self, path: str, sha256: str) -> bool:
        row = self.db.execute("SELECT sha256 FROM files WHERE path = ?", (path,)).fetchone()
        return bool(row and row[0] == sha256)

    def mark_file(self, path: str, sha256: str, records: int) -> None:
        self.db.execute(
            "INSERT INTO files VALUES (?, ?, ?) ON CONFLICT (path) DO UPDATE SET sha256 = excluded.sha256, "
            "records = excluded.records",
            (path, sha256, records),
        )

    def papers_of_file(self, path: str) -> list[Paper]:
        rows = self.db.execute(
            "SELECT p.data, p.abstract_raw FROM paper_files f JOIN papers p ON p.doc_key = f.doc_key WHERE f.file = ?",
            (path,),
        )
        return [_paper(r) for r in rows]

    def forget_file(self, path: str, doc_key: str) -> None:
        self.db.execute("DELETE FROM paper_files WHERE file = ? AND doc_key = ?", (path, doc_key))

    # --- generation: bumped whenever the stored chunks change, so derived indexes know they are stale ---
    def generation(self) -> int:
        row = self.db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return int(row[0]) if row else 0

    def bump_generation(self) -> None:
        self.db.execute(
            "INSERT INTO meta VALUES ('generation', '1') "
            "ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
        )

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                        (key, value))

    # --- reading ---
    def papers(self) -> Iterator[Paper]:
        for row in self.db.execute(f"SELECT {_PAPER} FROM papers ORDER BY doc_key"):
            yield _paper(row)

    def mentioning(self, arxiv_id: str, limit: int = 3) -> list[Paper]:
        """Papers whose record mentions `arxiv_id` (in a comment, say) without being that paper (an index lookup)."""
        rows = self.db.execute(
            f"SELECT {', '.join('p.' + c.strip() for c in _PAPER.split(','))} FROM mentions m "
            "JOIN papers p ON p.doc_key = m.doc_key "
            "WHERE m.arxiv_id = ? AND (p.arxiv_id IS NULL OR p.arxiv_id != ?) ORDER BY p.rowid LIMIT ?",
            (arxiv_id.lower(), arxiv_id, limit),
        )
        return [_paper(r) for r in rows]

    def keys_matching(self, categories: tuple[str, ...] = (), authors: tuple[str, ...] = ()) -> list[str]:
        """Doc keys of the papers in any of `categories` (``cs.CL``, or a whole archive: ``cs``) and by every
        one of `authors` (a name, or part of one, matched on word boundaries: "Lin" is not "Collins")."""
        where, args = [], []
        if categories:
            # A category between spaces; an archive (no dot) also before the dot of its categories.
            patterns = [p for c in categories for p in (f"% {_like(c)} %", *([f"% {_like(c)}.%"] * ("." not in c)))]
            where.append("(" + " OR ".join(["categories LIKE ? ESCAPE '\\'"] * len(patterns)) + ")")
            args += patterns
        for author in authors:
            where.append("authors LIKE ? ESCAPE '\\'")
            args.append(f"%{_like(author)}%")
        if not where:
            return []
        rows = self.db.execute(f"SELECT doc_key, authors FROM papers WHERE {' AND '.join(where)}", args)
        return [key for key, names in rows if all(_names_match(names, a) for a in authors)]

    def category_counts(self) -> dict[str, int]:
        """How many papers each category holds (a paper counts under each of its categories), most first."""
        counts: dict[str, int] = {}
        for (column,) in self.db.execute("SELECT categories FROM papers WHERE categories != ''"):
            for category in column.split():
                counts[category] = counts.get(category, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    def count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM papers").fetchone()[0])

    def all_chunk_ids(self) -> set[str]:
        ids: set[str] = set()
        for (data,) in self.db.execute("SELECT chunk_ids FROM papers"):
            ids.update(json.loads(data))
        return ids

    def chunk_ids_by_paper(self) -> Iterator[tuple[str, list[str]]]:
        """(doc_key, chunk IDs) of every paper."""
        for key, data in self.db.execute("SELECT doc_key, chunk_ids FROM papers"):
            yield key, json.loads(data)

    def count_chunk_ids(self) -> int:
        return int(self.db.execute("SELECT COALESCE(SUM(json_array_length(chunk_ids)), 0) FROM papers").fetchone()[0])
