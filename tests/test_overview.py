"""The corpus overview of the first screen: figures, date span, categories when known, the paper list
and example questions drawn from the stored papers."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from qa.index.overview import PaperRow, example_questions, label, named_thing, overview
from qa.index.store import Store
from qa.index.writer import Writer
from qa.ingest import ingest
from qa.papers import Paper
from qa.settings import Settings
from tests.conftest import DATA, make_settings
from ui.web.render import overview_html, papers_html


@pytest.mark.parametrize(("abstract", "name"), [
    ("In this paper, we introduce PolyMath, a multilingual mathematical reasoning benchmark.", "PolyMath"),
    ("This paper introduces Group Sequence Policy Optimization (GSPO), a stable method.",
     "Group Sequence Policy Optimization"),
    ("We present Qwen-Image, an image generation foundation model.", "Qwen-Image"),
    ("We introduce Qwen2.5-1M, a series of models.", "Qwen2.5-1M"),
    ("In this work, we introduce the Qwen3 Embedding series, built on Qwen3.", "Qwen3 Embedding"),
    ("We present a new method for sparse attention.", None),  # nothing named
    ("Recent advancements in Large Language Models have shown potential.", None),
    ("We introduce AI, a thing.", None),  # too short to be a name worth asking about
])
def test_named_thing(abstract: str, name: str | None) -> None:
    assert named_thing(abstract) == name


def test_examples_come_from_the_newest_papers_and_their_names() -> None:
    papers = [
        Paper("We introduce Oldname, a method.", arxiv_id="2301.00001"),
        Paper("We present Newname, a benchmark.", arxiv_id="2509.00002"),
        Paper("We present Newname, the same benchmark again.", arxiv_id="2508.00003"),  # a name asked once
        Paper("In this paper we introduce Undated, a dataset."),
    ]
    assert example_questions(papers) == ["What does arXiv:2509.00002 find?", "What is Newname?",
                                         "What is Oldname?", "What is Undated?"]
    assert example_questions(papers, n=2) == ["What does arXiv:2509.00002 find?", "What is Newname?"]
    assert example_questions([Paper("Nothing named here.")]) == []


def test_label_is_the_title_or_the_first_sentence_cut_at_a_word() -> None:
    assert label(Paper("Some abstract.", title="A  Title\n over lines")) == "A Title over lines"
    long = Paper("word " * 40 + ". Second sentence.")
    cut = label(long)
    assert cut.endswith("…") and len(cut) <= 91 and "  " not in cut and "Second" not in cut


def test_overview_of_the_bundled_corpus(corpus_store: Settings) -> None:
    store = Store(corpus_store)
    stats = store.stats()
    corpus = overview(store)
    assert (corpus.papers, corpus.chunks) == (stats["papers"], stats["chunks"])
    assert len(corpus.rows) == corpus.papers and {r.key for r in corpus.rows} == {p.doc_key for p in store.papers()}
    assert corpus.categories == []  # the text layouts carry none: nothing is made up
    # Dated by Created: lines or the IDs' months: the oldest is Qwen2 (2407.10671), the newest 2508.02324.
    assert (corpus.first, corpus.last) == (date(2024, 7, 1), date(2025, 8, 1))
    dates = [r.when[:7] for r in corpus.rows if r.when]
    assert dates == sorted(dates, reverse=True)  # newest first, undated at the end
    assert all(not r.when for r in corpus.rows[len(dates):])
    assert len(corpus.examples) == 4 and corpus.examples[0] == "What does arXiv:2508.02324 find?"
    names = [q.removeprefix("What is ").removesuffix("?") for q in corpus.examples[1:]]
    assert all(any(n in p.abstract for p in store.papers()) for n in names)


def test_search_narrows_the_list(corpus_store: Settings) -> None:
    corpus = overview(Store(corpus_store))
    rows, found = corpus.search("polymath", 50)
    assert found == 1 and [r.key for r in rows] == ["doc:575304d32a8f"]
    rows, found = corpus.search("arXiv:2506", 50)
    assert found == len(rows) >= 3 and all(r.key.startswith("arXiv:2506.") for r in rows)
    rows, found = corpus.search("QWEN3 embedding", 50)
    assert [r.key for r in rows] == ["arXiv:2506.05176"]
    rows, found = corpus.search("", 5)
    assert len(rows) == 5 and found == corpus.papers
    assert corpus.search("no such words anywhere", 5) == ([], 0)


def test_top_categories_when_the_source_gives_them(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "store")
    assert not ingest(Writer(settings), [str(DATA / "kaggle_snapshot.jsonl")]).errors
    corpus = overview(Store(settings))
    counted: dict[str, int] = {}
    for paper in Store(settings).papers():
        for c in paper.categories:
            counted[c] = counted.get(c, 0) + 1
    assert corpus.categories and dict(corpus.categories) == dict(sorted(
        counted.items(), key=lambda kv: -kv[1])[:len(corpus.categories)])
    assert "Top categories: " + corpus.categories[0][0] in overview_html(corpus)
    assert all(r.label and r.when for r in corpus.rows)  # Kaggle records have titles and dates


def test_overview_and_paper_list_html_escape_and_link_only_arxiv_keys() -> None:
    rows = [PaperRow("arXiv:2509.01234", "<script>x</script> & co", "2025-09"), PaperRow("doc:abc123abc123", "B", "")]
    html = papers_html(rows, 2, 30)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert html.count("<a ") == 1 and 'href="https://arxiv.org/abs/2509.01234"' in html
    assert "Showing 2 of 2 matching (30 in all)" in html
    assert "No paper matches" in papers_html([], 0, 30)
