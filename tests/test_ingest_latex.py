"""LaTeX made text once, at ingest: what is stored, chunked, indexed and answered from is plain text, the
original stays in the catalog, doc keys are those of the original texts, and a store made before is upgraded
when ingested again."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

import qa
from qa.index.writer import Writer
from qa.ingest import bundled_corpus, ingest, latex
from qa.ingest.pipeline import TEXT_FORM
from qa.settings import Settings
from tests.conftest import make_settings

LATEX_RE = re.compile(r"\\[a-zA-Z]+|\$")
# The doc: keys the eval gold files name (computed from the texts as the corpus gives them).
GOLD_DOC_KEYS = {"doc:3d6d4d85b2b4", "doc:3ec47464e6bd", "doc:575304d32a8f", "doc:6fe1fa34c349",
                 "doc:73d486c3a6a6", "doc:8c88a21d7fdb", "doc:9faae8293108", "doc:f0ef09a8247f"}


def _stored_texts(store: Writer) -> dict[str, list[str]]:
    """Every text the store answers from: abstracts and variants, titles, chunk texts and chunk metadata."""
    papers = list(store.papers())
    got = store._chroma.collection.get(include=["metadatas", "documents"])
    return {
        "abstracts": [t for p in papers for t in (p.abstract, p.title or "", *(v.text for v in p.variants))],
        "chunks": [c.text for c in store.chunks(got["ids"]).values()],
        "metadata": [str(v) for m in got["metadatas"] for v in m.values()] + [d for d in got["documents"] if d],
    }


def _latex_left(store: Writer) -> dict[str, list[str]]:
    return {kind: [t for t in texts if LATEX_RE.search(t)] for kind, texts in _stored_texts(store).items()}


def test_no_latex_is_stored_and_the_original_is_kept(corpus_store: Settings) -> None:
    store = Writer(corpus_store)
    assert _latex_left(store) == {"abstracts": [], "chunks": [], "metadata": []}
    simd = store.by_id("2506.03686")
    assert simd is not None and simd.abstract_raw is not None
    assert r"$38\times$" in simd.abstract_raw and "38\u00d7 speedup" in simd.abstract
    with sqlite3.connect(Path(corpus_store.store) / "catalog.sqlite") as db:
        raw = dict(db.execute("SELECT doc_key, abstract_raw FROM papers WHERE abstract_raw IS NOT NULL"))
    assert raw["arXiv:2506.03686"] == simd.abstract_raw
    assert all(LATEX_RE.search(text) for text in raw.values())  # kept only where cleaning changed the text


def test_doc_keys_are_those_of_the_original_texts(corpus_store: Settings) -> None:
    papers = list(Writer(corpus_store).papers())
    assert {p.doc_key for p in papers if p.doc_key.startswith("doc:")} == GOLD_DOC_KEYS
    marge = next(p for p in papers if "Math Reasoning with Guided Exploration" in p.abstract)
    assert marge.doc_key == "doc:8c88a21d7fdb" and marge.abstract_raw and r"\textbf{Ma}th" in marge.abstract_raw


@pytest.mark.slow
def test_answers_quote_plain_text(corpus_store: Settings) -> None:
    questions = ["What speedups does the SIMD permutation toolkit achieve?", "What does MARGE stand for?",
                 "How much less memory does ParScale need than parameter scaling?",
                 "Where are the gated attention codes and models released?"]
    for question in questions:
        answer = qa.ask(question, settings=corpus_store)
        shown = [answer.answer, *(c.snippet for c in answer.citations), *(c.title or "" for c in answer.citations),
                 *(p.chunk.text for p in answer.passages)]
        assert [s for s in shown if LATEX_RE.search(s)] == [], question
    simd = qa.ask(questions[0], settings=corpus_store)
    assert "38\u00d7" in simd.answer and "$" not in simd.answer


@pytest.mark.slow
def test_reingesting_a_store_made_before_cleans_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = make_settings(tmp_path / "store")
    with monkeypatch.context() as m:  # a store as the version before made it: raw texts, no text form
        m.setattr(latex, "to_text", lambda text: text)
        ingest(Writer(settings))
    old = Writer(settings)
    old._catalog.db.execute("DELETE FROM meta WHERE key = 'text_form'")
    assert _latex_left(old)["chunks"]
    keys = {p.doc_key for p in old.papers()}
    raw = {p.doc_key: p.abstract for p in old.papers()}
    old_ids = old._catalog.all_chunk_ids()
    old._catalog.close()

    store = Writer(settings)
    report = ingest(store)
    # The files are unchanged, yet every paper with LaTeX is cleaned, re-chunked and re-embedded.
    assert report.skipped_files == 5 and report.files == 0
    with_latex = sum(1 for text in raw.values() if LATEX_RE.search(text))
    assert report.upgraded == with_latex == 9 and report.chunks_embedded > 0
    assert _latex_left(store) == {"abstracts": [], "chunks": [], "metadata": []}
    papers = {p.doc_key: p for p in store.papers()}
    assert set(papers) == keys
    assert all((p.abstract_raw or p.abstract) == raw[k] for k, p in papers.items())
    assert store._catalog.all_chunk_ids() == set(store.vector_ids()) != old_ids
    assert store._catalog.meta("text_form") == TEXT_FORM
    assert store.lexicon().ids and not any(LATEX_RE.search(t) for t in _stored_texts(store)["chunks"])
    again = ingest(store)
    assert again.upgraded == 0 and again.chunks_embedded == 0


def test_an_old_catalog_gains_the_raw_column_on_open(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    with sqlite3.connect(path) as db:  # the papers table of the first schema
        db.execute("CREATE TABLE papers (doc_key TEXT PRIMARY KEY, arxiv_id TEXT UNIQUE, data TEXT NOT NULL, "
                   "chunk_ids TEXT NOT NULL DEFAULT '[]', chunk_sig TEXT NOT NULL DEFAULT '')")
        db.execute("INSERT INTO papers (doc_key, arxiv_id, data) VALUES ('arXiv:2501.00001', '2501.00001', ?)",
                   ('{"abstract": "A $5\\\\times$ gain.", "arxiv_id": "2501.00001", "title": null, "comments": null, '
                    '"created": null, "categories": [], "authors": null, "sources": [], "variants": '
                    '[{"text": "A $5\\\\times$ gain.", "sources": []}]}',))
    from qa.index.catalog import SCHEMA_VERSION, Catalog

    catalog = Catalog(path)
    assert catalog.version == SCHEMA_VERSION
    paper = catalog.get("arXiv:2501.00001")
    assert paper is not None and paper.abstract == r"A $5\times$ gain." and paper.abstract_raw is None
    assert "abstract_raw" in {row[1] for row in catalog.db.execute("PRAGMA table_info(papers)")}
    Catalog(path)  # opening it again changes nothing


def test_bundled_corpus_records_are_cleaned_as_read() -> None:
    from qa.ingest.merge import cleaned
    from qa.ingest.sources import read_papers

    records = [cleaned(r) for p in sorted(bundled_corpus().glob("*.txt")) for r in read_papers(p)]
    assert not [r.abstract for r in records if LATEX_RE.search(r.abstract)]
    assert all(latex.to_text(r.abstract_raw) == r.abstract for r in records if r.abstract_raw is not None)
