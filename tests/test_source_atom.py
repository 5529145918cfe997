"""The arXiv API's Atom XML: detection, every field of an entry, bad XML, and flat memory."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from qa.errors import UnrecognisedFormat
from qa.ingest.sources import atom, detect_format, read_papers
from qa.limits import Limits
from qa.papers import Source
from tests.conftest import count_with_peak_memory

FIXTURE = Path(__file__).resolve().parent / "data" / "arxiv_api.atom.xml"
FEED_OPEN = '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:arxiv="http://arxiv.org/schemas/atom">'
ABSTRACT = "We study alpha.\n  Alpha models are compared\n\ton many tasks."


def entry(arxiv_id: str = "2505.09388v1", summary: str = ABSTRACT, extra: str = "") -> str:
    return (f"<entry><id>http://arxiv.org/abs/{arxiv_id}</id><published>2025-05-14T13:41:34Z</published>"
            f"<title>A title</title><summary>{summary}</summary>{extra}</entry>")


def feed(tmp_path: Path, *entries: str, prolog: bool = True, name: str = "api.xml") -> Path:
    path = tmp_path / name
    head = '<?xml version="1.0" encoding="UTF-8"?>\n' if prolog else ""
    path.write_text(head + FEED_OPEN + "\n" + "\n".join(entries) + "\n</feed>\n", encoding="utf-8")
    return path


def test_fixture_is_detected_as_atom() -> None:
    assert detect_format(FIXTURE) == "atom"


@pytest.mark.parametrize("head", [
    FEED_OPEN,
    '<?xml version="1.0"?>\n<feed xmlns="http://www.w3.org/2005/Atom">',
    "\ufeff<feed\n    xmlns='http://www.w3.org/2005/Atom'>",
    '<!-- saved from the API -->\n<atom:feed xmlns:atom="http://www.w3.org/2005/Atom">',
])
def test_sniff_accepts_atom_feeds(head: str) -> None:
    assert atom.sniff(head + "<entry>")


@pytest.mark.parametrize("head", [
    '<?xml version="1.0"?><rss version="2.0"><channel><title>x</title></channel></rss>',
    'We parse <feed xmlns="http://www.w3.org/2005/Atom"> in prose.\narXiv:2505.09388\n',
    '{"id": "2505.09388", "abstract": "<feed xmlns=\\"http://www.w3.org/2005/Atom\\">"}',
    "Abstract:In this work, we introduce ...",
])
def test_sniff_rejects_other_content(head: str) -> None:
    assert not atom.sniff(head)


def test_every_field_of_an_entry() -> None:
    qwen3, embedding, _ = read_papers(FIXTURE)
    assert qwen3.arxiv_id == "2505.09388"
    assert qwen3.title == "Qwen3 Technical Report"
    assert qwen3.abstract.startswith("In this work, we present Qwen3, the latest version of the Qwen model family. Q")
    assert qwen3.abstract.endswith("all Qwen3 models are publicly accessible under Apache 2.0.")
    assert qwen3.created == date(2025, 5, 14)
    assert qwen3.comments is None
    assert qwen3.categories == ["cs.CL"]
    assert qwen3.authors == "An Yang, Anfeng Li, Baosong Yang"
    assert qwen3.doc_key == "arXiv:2505.09388"
    assert embedding.comments == "Technical report, 16 pages"
    assert embedding.authors == "Yanzhao Zhang, Mingxin Li, Dingkun Long"
    assert embedding.created == date(2025, 6, 5)  # <published>, not <updated> (2025-06-11)
    assert embedding.categories == ["cs.CL", "cs.AI", "cs.IR"]


def test_versions_are_stripped_and_positions_are_entry_numbers() -> None:
    papers = list(read_papers(FIXTURE))
    assert [p.arxiv_id for p in papers] == ["2505.09388", "2506.05176", "2503.09852"]
    assert [p.sources for p in papers] == [[Source(str(FIXTURE), n)] for n in (1, 2, 3)]


def test_whitespace_is_collapsed_in_title_abstract_and_comment() -> None:
    for paper in read_papers(FIXTURE):
        for text in (paper.title, paper.abstract, paper.comments):
            assert text is None or text == " ".join(text.split())
    embedding = list(read_papers(FIXTURE))[1]
    assert embedding.title == "Qwen3 Embedding: Advancing Text Embedding and Reranking Through Foundation Models"


def test_primary_category_comes_first_and_none_repeats() -> None:
    style = list(read_papers(FIXTURE))[2]
    assert style.categories == ["cs.GR", "cs.CV", "cs.SD"]


def test_feed_without_prolog_and_old_style_id(tmp_path: Path) -> None:
    path = feed(tmp_path, entry("hep-th/9711200v3"), prolog=False)
    assert detect_format(path) == "atom"
    (paper,) = read_papers(path)
    assert paper.arxiv_id == "hep-th/9711200"
    assert paper.abstract == "We study alpha. Alpha models are compared on many tasks."
    assert (paper.title, paper.comments, paper.authors, paper.categories) == ("A title", None, None, [])


def test_entry_with_empty_summary_is_skipped_but_counted(tmp_path: Path) -> None:
    path = feed(tmp_path, entry("2501.00001v1"), entry("2501.00002v1", summary="  \n "), entry("2501.00003v2"))
    papers = list(read_papers(path))
    assert [p.arxiv_id for p in papers] == ["2501.00001", "2501.00003"]
    assert [p.sources[0].position for p in papers] == [1, 3]


def test_entry_without_a_usable_id_keeps_none(tmp_path: Path) -> None:
    path = feed(tmp_path, "<entry><id>urn:uuid:1234</id><summary>Some abstract.</summary></entry>")
    (paper,) = read_papers(path)
    assert paper.arxiv_id is None and paper.doc_key.startswith("doc:")
    assert paper.created is None


def test_empty_feed_yields_nothing(tmp_path: Path) -> None:
    assert list(read_papers(feed(tmp_path))) == []


def test_api_error_feed_fails_loudly(tmp_path: Path) -> None:
    error = ("<entry><id>http://arxiv.org/api/errors#incorrect_id_format_for_1234.12345</id>"
             "<title>Error</title><summary>incorrect id format for 1234.12345</summary></entry>")
    with pytest.raises(UnrecognisedFormat, match=r"api\.xml: arXiv API error response: incorrect id format"):
        list(read_papers(feed(tmp_path, error)))


BILLION_LAUGHS = ('<?xml version="1.0"?>\n<!DOCTYPE feed [<!ENTITY a "aaaaaaaaaa">'
                  '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>\n'
                  f"{FEED_OPEN}<entry><id>http://arxiv.org/abs/2505.09388</id><summary>&c;</summary></entry></feed>")


@pytest.mark.parametrize("text", [
    f"{FEED_OPEN}\n{entry()}\n",  # truncated: no </feed>
    f"{FEED_OPEN}\n<entry><id>x</id><summary>unclosed</entry></feed>",  # mismatched tag
    f"{FEED_OPEN}\n{entry(summary='Fish &amp; chips &nbsp; peas')}</feed>",  # HTML entity, undefined in XML
    f"{FEED_OPEN}\n{entry(summary='a < b')}</feed>",
    BILLION_LAUGHS,  # entity expansion is refused, not performed
    '<feed xmlns="http://example.org/not-atom"><entry/></feed>',
])
def test_malformed_xml_raises_unrecognised_format_naming_the_file(tmp_path: Path, text: str) -> None:
    path = tmp_path / "broken.xml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UnrecognisedFormat, match=r"broken\.xml: malformed Atom XML: \S") as info:
        list(atom.parse(path, Limits()))
    assert info.value.path == str(path)


def test_malformed_xml_after_good_entries_raises_after_yielding_them(tmp_path: Path) -> None:
    path = tmp_path / "cut.xml"
    path.write_text(f"{FEED_OPEN}\n{entry('2501.00001')}\n{entry('2501.00002')}\n<entry><id>", encoding="utf-8")
    papers = read_papers(path)
    assert next(papers).arxiv_id == "2501.00001"
    assert next(papers).arxiv_id == "2501.00002"
    with pytest.raises(UnrecognisedFormat, match=r"cut\.xml: malformed Atom XML"):
        next(papers)


@pytest.mark.slow
def test_memory_stays_flat_on_a_long_feed(tmp_path: Path) -> None:
    path = tmp_path / "long.xml"
    summary = "Alpha models are compared on many tasks and found wanting. " * 15
    with path.open("w", encoding="utf-8") as f:
        f.write(FEED_OPEN + "\n")
        for i in range(30_000):
            f.write(entry(f"2501.{i:05d}v1", summary=summary, extra="<author><name>A. Author</name></author>") + "\n")
        f.write("</feed>\n")
    assert path.stat().st_size > 25_000_000
    count, peak = count_with_peak_memory(read_papers(path))
    assert count == 30_000
    assert peak < 10_000_000, f"peak traced memory {peak / 1e6:.1f} MB"
