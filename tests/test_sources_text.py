"""The three plain-text layouts of the sample corpus, and their traps, on small fixtures."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from qa.errors import UnrecognisedFormat
from qa.ingest.sources import detect_format, read_papers
from qa.ingest.sources._text import split_id_line

LONG_A = "We study alpha. " + "Alpha models are compared on many tasks. " * 12
LONG_B = "We study beta. " + "Beta methods are evaluated with care. " * 12
LONG_C = "We study gamma. " + "Gamma results improve over baselines. " * 12


def write(tmp_path: Path, text: str, name: str = "dump.txt") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_blocks_layout(tmp_path: Path) -> None:
    path = write(tmp_path, f"{LONG_A}\n\n11 pages, 9 figures\n\narXiv:2506.03686\nCreated: 2025-06-04\n\n"
                           f"{LONG_B}\n\narXiv:2505.09388\nCreated: 2025-05-14\n")
    assert detect_format(path) == "blocks"
    a, b = read_papers(path)
    assert (a.arxiv_id, a.created, a.comments) == ("2506.03686", date(2025, 6, 4), "11 pages, 9 figures")
    assert a.abstract == " ".join(LONG_A.split())
    assert (b.arxiv_id, b.created, b.comments) == ("2505.09388", date(2025, 5, 14), None)
    assert [p.sources[0].position for p in (a, b)] == [1, 2]


def test_blocks_second_abstract_without_id_keeps_first_unidentified(tmp_path: Path) -> None:
    path = write(tmp_path, f"{LONG_A}\n\n{LONG_B}\n\narXiv:2505.09388\nCreated: 2025-05-14\n")
    a, b = read_papers(path)
    assert a.arxiv_id is None and a.abstract.startswith("We study alpha")
    assert b.arxiv_id == "2505.09388" and b.abstract.startswith("We study beta")


def test_runtogether_layout_assigns_id_to_the_record_before(tmp_path: Path) -> None:
    path = write(tmp_path, f"{LONG_A}\nhttps://github.com/x/y\narXiv:2508.02324{LONG_B}\n"
                           f"Code at z. arXiv admin note: text overlap with arXiv:2408.15262 by other authors\n"
                           f"arXiv:2409.12191{LONG_C}\n25 pages, 1 figure\narXiv:2407.10671\n")
    assert detect_format(path) == "runtogether"
    papers = list(read_papers(path))
    assert [p.arxiv_id for p in papers] == ["2508.02324", "2409.12191", "2407.10671"]
    assert [p.abstract[:13] for p in papers] == ["We study alph", "We study beta", "We study gamm"]
    assert papers[0].comments == "https://github.com/x/y"
    assert "2408.15262" in (papers[1].comments or "")  # the admin note stays a comment, not an ID
    assert papers[2].comments == "25 pages, 1 figure"


def test_runtogether_trailing_record_without_id(tmp_path: Path) -> None:
    path = write(tmp_path, f"{LONG_A}\narXiv:2508.02324{LONG_B}\n")
    a, b = read_papers(path)
    assert a.arxiv_id == "2508.02324" and b.arxiv_id is None


def test_abstract_prefixed_layout_skips_header(tmp_path: Path) -> None:
    path = write(tmp_path, f"additional authors not shown\nAbstract:{LONG_A}\nAbstract: {LONG_B}\n")
    assert detect_format(path) == "abstracts"
    a, b = read_papers(path)
    assert a.arxiv_id is None and b.arxiv_id is None
    assert a.abstract.startswith("We study alpha") and b.abstract.startswith("We study beta")
    assert "additional authors" not in a.abstract + b.abstract


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("arXiv:2508.02324Recent work", ("2508.02324", "Recent work")),
        ("arXiv:2508.0232412 pages", ("2508.02324", "12 pages")),  # five digits since 2015
        ("arXiv:1412.12345 pages", ("1412.1234", "5 pages")),  # four digits before
        ("arXiv:2505.09388v2", ("2505.09388", "")),
        ("arXiv:hep-th/9901001", ("hep-th/9901001", "")),
        ("see arXiv:2408.15262", None),
        ("arXiv:25.1", None),
    ],
)
def test_split_id_line(line: str, expected: tuple[str, str] | None) -> None:
    assert split_id_line(line) == expected


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"", "empty file"),
        (b"   \n\n  ", "empty file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        (b"caf\xe9 au lait " * 20, "not UTF-8"),
        (b"Just some notes about papers I like.\nNothing else here.\n", "unrecognised layout"),
        (b"id,title,abstract\n1,x,y\n", "unrecognised layout"),
    ],
)
def test_bad_files_are_named_errors(tmp_path: Path, content: bytes, why: str) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(UnrecognisedFormat) as err:
        list(read_papers(path))
    assert str(path) in str(err.value) and why in str(err.value)
    assert "\n" not in str(err.value)


def test_sample_corpus_layouts() -> None:
    from qa.ingest import bundled_corpus

    layouts = {p.name[:3]: detect_format(p) for p in sorted(bundled_corpus().glob("*.txt"))}
    assert layouts == {"000": "blocks", "001": "abstracts", "002": "runtogether", "003": "abstracts",
                       "004": "runtogether"}
    counts = {p.name[:3]: len(list(read_papers(p))) for p in bundled_corpus().glob("*.txt")}
    assert counts == {"000": 10, "001": 10, "002": 10, "003": 10, "004": 10}
