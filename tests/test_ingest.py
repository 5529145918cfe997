"""Ingest end to end: the bundled corpus figures, incremental re-ingest, bad input, kill -9, reopening."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qa.index.writer import Writer
from qa.ingest import bundled_corpus, ingest
from qa.ingest.embed import load_tokenizer
from qa.settings import Settings
from tests.conftest import HASH_ENV, make_settings, run_cli
from tests.corpusgen import abstract, write_blocks

EXPECTED_IDS = sorted(
    ["2506.05176", "2506.03686", "2506.01939", "2505.24147", "2505.10527", "2505.09388", "2503.09852",
     "2501.15383", "2501.01257", "2410.23933", "2508.02324", "2507.20352", "2507.18071", "2503.20215",
     "2502.13923", "2410.09335", "2409.12186", "2409.12191", "2407.10671"]
)


@pytest.mark.slow
def test_bundled_corpus_figures_through_the_cli(tmp_path: Path) -> None:
    store = tmp_path / "s"
    done = run_cli("ingest", "--store", str(store))
    assert done.returncode == 0, done.stderr
    assert "5 file(s) ingested" in done.stdout
    stats = json.loads(run_cli("stats", "--json", store=store).stdout)
    assert {k: stats[k] for k in ("papers", "with_arxiv_id", "without_arxiv_id", "papers_with_variants")} == {
        "papers": 27, "with_arxiv_id": 19, "without_arxiv_id": 8, "papers_with_variants": 1}
    assert stats["arxiv_ids"] == EXPECTED_IDS
    assert "2408.15262" not in stats["arxiv_ids"]  # only named in an admin note
    assert stats["chunks"] >= 27
    again = run_cli("ingest", store=store)  # the store chosen by ARXIV_QA_STORE this time
    assert again.returncode == 0 and "0 file(s) ingested, 5 unchanged" in again.stdout
    assert json.loads(run_cli("stats", "--json", store=store).stdout) == stats


def test_codeelo_variants_are_both_kept(corpus_store: Settings) -> None:
    paper = Writer(corpus_store).by_id("2501.01257")
    assert paper is not None
    texts = [v.text for v in paper.variants]
    assert len(texts) == 2
    assert "lowest 20 percent" in texts[0] and "lowest 25 percent" in texts[1]
    assert paper.abstract == texts[0]
    assert {Path(s.file).name[:3] for s in paper.sources} == {"000", "001"}


def test_papers_without_id_keep_doc_keys_and_all_sources(corpus_store: Settings) -> None:
    papers = list(Writer(corpus_store).papers())
    no_id = [p for p in papers if p.arxiv_id is None]
    assert len(no_id) == 8 and all(p.doc_key.startswith("doc:") for p in no_id)
    qwen3 = Writer(corpus_store).by_id("2505.09388")
    assert qwen3 is not None and len(qwen3.sources) == 5  # seen in all five files


def test_chunks_fit_the_model_window_and_carry_metadata(corpus_store: Settings) -> None:
    store = Writer(corpus_store)
    got = store._chroma.collection.get(include=["metadatas"])
    texts = [c.text for c in store.chunks(got["ids"]).values()]
    count = load_tokenizer("bundled")
    assert len(texts) == 57 and all(texts)
    assert max(len(count(t)) + 2 for t in texts) <= 256  # +[CLS] +[SEP]
    meta = {m["doc_key"]: m for m in got["metadatas"]}
    assert meta["arXiv:2506.05176"]["created"] == "2025-06-05"  # from the Created: line
    assert meta["arXiv:2409.12191"]["created"] == "2024-09-01"  # from the ID's year-month
    assert meta["arXiv:2409.12191"]["source_file"].startswith("004_")
    assert all(m["arxiv_id"] == "" and m["year_month"] == 0 for k, m in meta.items() if k.startswith("doc:"))


def test_reingest_embeds_nothing_and_copies_elsewhere_add_only_sources(corpus_store: Settings, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(corpus_store.store, copy)
    store = Writer(corpus_store.model_copy(update={"store": copy}))
    before = store.stats()
    assert ingest(store).chunks_embedded == 0
    moved = tmp_path / "elsewhere"
    shutil.copytree(bundled_corpus(), moved)
    report = ingest(store, [str(moved)])
    assert (report.files, report.chunks_embedded) == (5, 0)
    assert store.stats() == before
    assert len(store.by_id("2505.09388").sources) == 10  # type: ignore[union-attr]


def test_changed_abstract_replaces_its_old_chunks(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "dump.txt"
    ids = write_blocks(path, 3)
    store = Writer(settings)
    ingest(store, [str(path)])
    old = path.read_text()
    first = old.split("\n\n")[0]
    path.write_text(old.replace(first, "Quokka metabolism is measured in detail. " * 30))
    report = ingest(store, [str(path)])
    assert report.files == 1 and report.chunks_embedded > 0
    paper = store.by_id(ids[0])
    assert paper is not None and len(paper.variants) == 1 and "Quokka" in paper.abstract
    got = store._chroma.collection.get(where={"doc_key": f"arXiv:{ids[0]}"})["ids"]
    docs = [c.text for c in store.chunks(got).values()]
    assert docs and all("Quokka" in d for d in docs)
    assert store.chunk_count() == store._catalog.count_chunk_ids()


def test_record_removed_from_a_file_leaves_the_store(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "dump.txt"
    path.write_text(f"Abstract:{abstract(__import__('random').Random(1))}\nAbstract:{abstract(__import__('random').Random(2))}\n")
    store = Writer(settings)
    ingest(store, [str(path)])
    assert store.stats()["papers"] == 2
    path.write_text(path.read_text().splitlines()[0] + "\n")
    ingest(store, [str(path)])
    assert store.stats()["papers"] == 1 and store.chunk_count() == store._catalog.count_chunk_ids()


BAD_FILES = {
    "empty.txt": b"",
    "image.png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00",
    "latin1.txt": "Résumé des méthodes étudiées. ".encode("latin-1") * 20,
    "notes.txt": b"Some notes about papers I like.\nNothing structured.\n",
}


@pytest.mark.slow
@pytest.mark.parametrize("bad", sorted(BAD_FILES))
def test_bad_file_alone_is_exit_2_with_one_line_and_store_kept(tmp_path: Path, bad: str) -> None:
    store = tmp_path / "s"
    good = tmp_path / "good.txt"
    write_blocks(good, 2)
    assert run_cli("ingest", str(good), store=store, env=HASH_ENV).returncode == 0
    path = tmp_path / bad
    path.write_bytes(BAD_FILES[bad])
    done = run_cli("ingest", str(path), store=store, env=HASH_ENV)
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if line.startswith("arxiv-qa:")]
    assert len(errors) == 1 and str(path) in errors[0]
    assert "Traceback" not in done.stderr
    assert json.loads(run_cli("stats", "--json", store=store).stdout)["papers"] == 2


@pytest.mark.slow
def test_bad_files_mixed_into_a_directory(tmp_path: Path) -> None:
    folder = tmp_path / "dumps"
    folder.mkdir()
    for name, content in BAD_FILES.items():
        (folder / name).write_bytes(content)
    shutil.copy(bundled_corpus() / "000_ad384d0920ecebd8.txt", folder / "good.txt")
    done = run_cli("ingest", str(folder), str(tmp_path / "missing.txt"), store=tmp_path / "s")
    assert done.returncode == 2
    named = [line for line in done.stderr.splitlines() if line.startswith("arxiv-qa: skipped")]
    assert sorted(Path(line.split(" ")[2].rstrip(":")).name for line in named) == sorted([*BAD_FILES, "missing.txt"])
    assert json.loads(run_cli("stats", "--json", store=tmp_path / "s").stdout)["papers"] == 10


def _papers_in(store: Path) -> int:
    try:
        with sqlite3.connect(store / "catalog.sqlite", timeout=1) as db:
            return int(db.execute("SELECT COUNT(*) FROM papers").fetchone()[0])
    except sqlite3.Error:
        return 0


@pytest.mark.slow
def test_kill_9_mid_ingest_then_resume(tmp_path: Path) -> None:
    dump = tmp_path / "dump.txt"
    write_blocks(dump, 120, seed=7)
    store = tmp_path / "s"
    env = {**os.environ, "ARXIV_QA_STORE": str(store), "ARXIV_QA_INGEST_BATCH": "4"}
    proc = subprocess.Popen([sys.executable, "-m", "ui.cli", "ingest", str(dump)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while _papers_in(store) < 20 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "ingest finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = _papers_in(store)
    assert 20 <= partial < 120
    done = run_cli("ingest", str(dump), store=store)
    assert done.returncode == 0, done.stderr
    resumed = Writer(make_settings(store))
    clean = Writer(make_settings(tmp_path / "clean"))
    ingest(clean, [str(dump)])
    ids = resumed._chroma.collection.get()["ids"]
    assert len(ids) == len(set(ids)) == resumed._catalog.count_chunk_ids()
    assert sorted(ids) == sorted(clean._chroma.collection.get()["ids"])
    assert resumed.stats()["papers"] == 120


@pytest.mark.slow
def test_new_process_reopens_the_store_and_retrieves_the_same_chunks(corpus_store: Settings) -> None:
    question = "What model sizes does the Qwen3 Embedding series offer?"
    store = Writer(corpus_store)
    vector = store.embed_query(question)
    here = store._chroma.collection.query(query_embeddings=[vector], n_results=5)["ids"][0]
    code = (
        "import json,sys; from qa.index.writer import Writer; from qa.settings import Settings;"
        f"s=Writer(Settings(_env_file=None, store={str(corpus_store.store)!r}));"
        f"v=s.embed_query({question!r});"
        "print(json.dumps(s._chroma.collection.query(query_embeddings=[v], n_results=5)['ids'][0]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == here
    assert any(i.startswith("arXiv:2506.05176#") for i in here)
