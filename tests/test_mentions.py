"""Finding the papers that mention an arXiv ID is an index lookup, filled when written and when an old catalog opens."""

from __future__ import annotations

import dataclasses
import re
import shutil
import sqlite3
from pathlib import Path

import pytest

import qa.index.catalog
from qa.index.catalog import SCHEMA_VERSION, Catalog, mentioned_ids
from qa.index.writer import Writer
from qa.ingest import ingest
from qa.settings import Settings
from tests.conftest import make_settings
from tests.corpusgen import write_kaggle


def _like_scan(db: sqlite3.Connection, arxiv_id: str, limit: int = 3) -> list[str]:
    """What `mentioning` answered before the index: a full scan of every record's text."""
    rows = db.execute("SELECT doc_key FROM papers WHERE data LIKE ? AND (arxiv_id IS NULL OR arxiv_id != ?) "
                      "ORDER BY rowid LIMIT ?", (f"%{arxiv_id}%", arxiv_id, limit))
    return [r[0] for r in rows]


def _every_id(catalog: Catalog) -> set[str]:
    return {i for (data,) in catalog.db.execute("SELECT data FROM papers") for i in mentioned_ids(data)}


@pytest.fixture
def catalog(corpus_store: Settings, tmp_path: Path) -> Catalog:
    """The bundled corpus plus generated papers whose comments cite others (some not in the store)."""
    shutil.copytree(corpus_store.store, tmp_path / "s")
    store = Writer(make_settings(tmp_path / "s"))
    write_kaggle(tmp_path / "more.json", 30, seed=4)
    lines = (tmp_path / "more.json").read_text().splitlines()
    cited = ["2503.20215", "2409.12191v2", "hep-th/9901001", "2408.15262", "2401.99999"]
    lines = [line.replace('"comments": null', f'"comments": "extends arXiv:{cited[i % 5]}"') if i % 3 == 0 else line
             for i, line in enumerate(lines)]
    (tmp_path / "more.json").write_text("\n".join(lines) + "\n")
    ingest(store, [str(tmp_path / "more.json")])
    return Catalog(tmp_path / "s" / "catalog.sqlite")


def test_mentioning_gives_what_the_scan_gave(catalog: Catalog) -> None:
    ids = _every_id(catalog)
    assert {"2503.20215", "2409.12191", "hep-th/9901001", "2408.15262"} <= ids
    for arxiv_id in sorted(ids):
        for limit in (1, 3, 100):
            got = [p.doc_key for p in catalog.mentioning(arxiv_id, limit)]
            assert got == _like_scan(catalog.db, arxiv_id, limit), arxiv_id
    assert [p.doc_key for p in catalog.mentioning("2408.15262")]  # mentioned, not stored
    assert catalog.mentioning("2501.00000") == []


def test_mentioning_uses_an_index_not_a_scan(catalog: Catalog) -> None:
    plan = " ".join(str(row[-1]) for row in catalog.db.execute(
        "EXPLAIN QUERY PLAN SELECT p.data FROM mentions m JOIN papers p ON p.doc_key = m.doc_key "
        "WHERE m.arxiv_id = ? AND (p.arxiv_id IS NULL OR p.arxiv_id != ?) ORDER BY p.rowid LIMIT ?", ("x", "x", 3)))
    assert "SEARCH m USING PRIMARY KEY (arxiv_id=?)" in plan and "SCAN p" not in plan, plan
    source = Path(qa.index.catalog.__file__).read_text()
    # No query of the catalog scans record texts (the metadata filters match the short category and
    # author columns, never the stored records).
    assert not re.search(r"\b(data|abstract\w*)\s+(NOT\s+)?LIKE", source, re.I)


def test_an_old_catalog_gets_its_mentions_on_opening(catalog: Catalog) -> None:
    expected = {i: [p.doc_key for p in catalog.mentioning(i)] for i in _every_id(catalog)}
    catalog.db.execute("DROP TABLE mentions")
    catalog.db.execute("DROP TABLE chunk_changes")
    catalog.db.execute("PRAGMA user_version = 3")  # as schema 3, the version before them, left it
    catalog.close()
    reopened = Catalog(catalog.path)
    assert {i: [p.doc_key for p in reopened.mentioning(i)] for i in expected} == expected


def test_a_deleted_paper_is_no_longer_mentioning(catalog: Catalog, tmp_path: Path) -> None:
    new = Catalog(tmp_path / "c.sqlite")  # a new catalog starts at the last version, with no mentions
    assert new.db.execute("SELECT COUNT(*) FROM mentions").fetchone()[0] == 0 and new.version == SCHEMA_VERSION
    citing = [p.doc_key for p in catalog.mentioning("2503.20215", 100)]
    assert citing
    with catalog.transaction():
        catalog.delete(citing[0])
    assert [p.doc_key for p in catalog.mentioning("2503.20215", 100)] == citing[1:]


def test_every_lookup_by_id_or_key_is_indexed(catalog: Catalog) -> None:
    """The statements the catalog runs to look a paper up (by arXiv ID, doc key, file, mention) scan no table."""
    paper = next(catalog.papers())
    statements: list[str] = []
    catalog.db.set_trace_callback(statements.append)
    try:
        catalog.by_id(paper.arxiv_id or "")
        catalog.get(paper.doc_key)
        catalog.chunk_state(paper.doc_key)
        catalog.mentioning("2503.20215")
        catalog.papers_of_file(paper.sources[0].file)
        catalog.file_done(paper.sources[0].file, "x")
    finally:
        catalog.db.set_trace_callback(None)
    assert len(statements) == 6
    for sql in statements:
        plan = " ".join(str(row[-1]) for row in catalog.db.execute(f"EXPLAIN QUERY PLAN {sql}"))
        assert "SCAN" not in plan, (sql, plan)


def test_an_id_is_found_as_a_whole_not_inside_a_longer_word_or_number() -> None:
    text = ('{"comments": "see https://arxiv.org/abs/hep-th/9901001v2, arXiv:2401.01234 and [2402.00001]", '
            '"note": "ref x2403.00002, run 12404.00003, tag math.AG/0101001"}')
    assert mentioned_ids(text) == {"hep-th/9901001", "2401.01234", "2402.00001", "math.ag/0101001"}


def test_finding_mentions_stays_linear_in_long_words() -> None:
    # A record of long letter runs: a search that restarted inside each word would scan it again per letter.
    import time

    text = " ".join(["a" * 4000] * 50)
    start = time.perf_counter()
    assert mentioned_ids(text) == set()
    assert time.perf_counter() - start < 0.5


def test_a_record_with_an_id_looks_up_only_the_keys_of_papers_without_one(catalog: Catalog) -> None:
    from qa.ingest.merge import band_keys

    loose = [p for p in catalog.papers() if p.arxiv_id is None]
    named = next(p for p in catalog.papers() if p.arxiv_id)
    assert loose
    for paper in (*loose, named):
        keys = band_keys(paper.abstract)
        assert paper.doc_key in {p.doc_key for p in catalog.candidates(keys)}
        found = {p.doc_key for p in catalog.candidates(keys, without_id=True)}
        assert (paper.doc_key in found) == (paper.arxiv_id is None) and all(
            catalog.get(k).arxiv_id is None for k in found)  # type: ignore[union-attr]
    statements: list[str] = []
    catalog.db.set_trace_callback(statements.append)
    try:
        catalog.candidates(band_keys(named.abstract), without_id=True)
    finally:
        catalog.db.set_trace_callback(None)
    plan = " ".join(str(row[-1]) for row in catalog.db.execute(f"EXPLAIN QUERY PLAN {statements[0]}"))
    assert "FROM loose_keys" in statements[0] and "SCAN" not in plan, plan  # the small table only, by its key
    # A catalog made before the keys were kept apart gets them on opening; a paper given an ID leaves them.
    catalog.db.execute("DROP TABLE loose_keys")
    catalog.db.execute("PRAGMA user_version = 5")
    catalog.close()
    reopened = Catalog(catalog.path)
    count = reopened.db.execute("SELECT COUNT(DISTINCT doc_key) FROM loose_keys").fetchone()[0]
    assert count == len(loose)
    with reopened.transaction():
        reopened.put(dataclasses.replace(loose[0], arxiv_id="2401.77777"), loose[0].doc_key)
    assert loose[0].doc_key not in {p.doc_key for p in reopened.candidates(band_keys(loose[0].abstract), True)}
    assert reopened.db.execute("SELECT COUNT(DISTINCT doc_key) FROM loose_keys").fetchone()[0] == len(loose) - 1
