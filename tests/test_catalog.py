"""The catalog's schema is versioned: a catalog of any older version is migrated on open, once."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from qa.index.catalog import _SCHEMA_1, MIGRATIONS, SCHEMA_VERSION, Catalog


def columns(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        return {row[1] for row in db.execute("PRAGMA table_info(papers)")}


def version(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("PRAGMA user_version").fetchone()[0])


def test_a_new_catalog_runs_every_migration(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "catalog.sqlite")
    assert catalog.version == SCHEMA_VERSION == len(MIGRATIONS) and "abstract_raw" in columns(catalog.path)
    assert catalog.generation() == 0 and list(catalog.papers()) == []


def test_an_unversioned_catalog_already_holding_every_field_is_only_stamped(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    with sqlite3.connect(path) as db:  # made by the version that added abstract_raw but kept no version
        db.executescript(_SCHEMA_1)
        db.execute("ALTER TABLE papers ADD COLUMN abstract_raw TEXT")
        db.execute("INSERT INTO meta VALUES ('generation', '7')")
    assert version(path) == 0
    catalog = Catalog(path)
    assert catalog.version == SCHEMA_VERSION and catalog.generation() == 7
    catalog.close()
    assert version(path) == SCHEMA_VERSION and "abstract_raw" in columns(path)


def test_a_catalog_at_the_first_version_gains_the_later_fields(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(_SCHEMA_1)
        db.execute("PRAGMA user_version = 1")
    assert "abstract_raw" not in columns(path)
    Catalog(path).close()
    assert version(path) == SCHEMA_VERSION and "abstract_raw" in columns(path)
    Catalog(path).close()  # opening it again changes nothing
    assert version(path) == SCHEMA_VERSION


def test_a_journal_written_before_first_chunks_were_marked_counts_no_paper_as_new(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    with sqlite3.connect(path) as db:
        for migration in MIGRATIONS[:4]:  # schema 4: a journal without the mark
            migration(db)
        db.execute("INSERT INTO chunk_changes (doc_key) VALUES ('arXiv:2401.00001')")
        db.execute("PRAGMA user_version = 4")
    catalog = Catalog(path)
    assert catalog.version == SCHEMA_VERSION
    with catalog.transaction():
        catalog.set_chunks("arXiv:2401.00002", ["c"], "s", first=True)
        catalog.set_chunks("arXiv:2401.00003", ["d"], "s", first=True)
        catalog.set_chunks("arXiv:2401.00003", ["e"], "t")  # new, then changed: its first rows may be indexed
    assert catalog.changed_since(0, catalog.last_change()) == [f"arXiv:2401.0000{i}" for i in (1, 2, 3)]
    assert catalog.new_since(0, catalog.last_change()) == {"arXiv:2401.00002"}
    assert catalog.new_since(2, 3) == {"arXiv:2401.00003"}  # before its change
