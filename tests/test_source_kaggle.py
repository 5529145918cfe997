"""The Kaggle arXiv metadata snapshot (JSON lines): detection, every field, bad lines, flat memory."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from qa.errors import UnrecognisedFormat
from qa.ingest.sources import HEAD_BYTES, detect_format, kaggle, read_papers
from qa.papers import Paper, Source
from tests.conftest import count_with_peak_memory

FIXTURE = Path(__file__).resolve().parent / "data" / "kaggle_snapshot.jsonl"


def record(**fields: Any) -> dict[str, Any]:
    """A snapshot record as Kaggle ships it, with `fields` replaced."""
    base: dict[str, Any] = {
        "id": "2505.09388", "submitter": "An Yang", "authors": "An Yang, Anfeng Li", "title": "Qwen3 Technical Report",
        "comments": None, "journal-ref": None, "doi": None, "report-no": None, "categories": "cs.CL cs.AI",
        "license": None, "abstract": "  In this work, we present Qwen3.\nIt is a model family.\n",
        "versions": [{"version": "v1", "created": "Wed, 14 May 2025 13:41:34 GMT"}],
        "update_date": "2025-05-15", "authors_parsed": [["Yang", "An", ""], ["Li", "Anfeng", ""]],
    }
    return base | fields


def write(tmp_path: Path, *lines: str | dict[str, Any], name: str = "snapshot.json") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    return path


def one(tmp_path: Path, **fields: Any) -> Paper:
    (paper,) = read_papers(write(tmp_path, record(**fields)))
    return paper


def test_fixture_is_detected_as_kaggle() -> None:
    assert detect_format(FIXTURE) == "kaggle"


def test_every_field_of_a_record() -> None:
    paper = next(read_papers(FIXTURE))
    assert paper.arxiv_id == "0704.0001"
    assert paper.title == "Calculation of prompt diphoton production cross sections at Tevatron and LHC energies"
    assert paper.abstract.startswith("A fully differential calculation in perturbative quantum chromodynamics is "
                                     "presented for the production of massive photon pairs at hadron colliders.")
    assert paper.abstract.endswith("valid at next-to-next-to-leading logarithmic accuracy.")
    assert paper.comments == "37 pages, 15 figures; published version"
    assert paper.categories == ["hep-ph"]
    assert paper.authors == "C. Bal\\'azs, E. L. Berger, P. M. Nadolsky, C.-P. Yuan"
    assert paper.created == date(2007, 4, 2)  # versions[0], not v2 (2007-07-24) nor update_date
    assert paper.sources == [Source(str(FIXTURE), 1)]
    assert paper.doc_key == "arXiv:0704.0001"


def test_fixture_ids_dates_categories_and_line_numbers() -> None:
    papers = list(read_papers(FIXTURE))
    assert [p.arxiv_id for p in papers] == ["0704.0001", "hep-th/9711200", "2505.09388", "math/0211159", "2506.05176"]
    assert [p.created for p in papers] == [date(2007, 4, 2), date(1997, 11, 27), date(2025, 5, 14),
                                           date(2008, 11, 10), date(2025, 6, 5)]  # Perelman: no versions
    assert papers[2].categories == ["cs.CL", "cs.AI"] and papers[2].comments is None
    assert [p.sources[0].position for p in papers] == [1, 2, 3, 5, 6]  # line 4 is blank


def test_whitespace_is_collapsed() -> None:
    for paper in read_papers(FIXTURE):
        for text in (paper.title, paper.abstract, paper.comments, paper.authors):
            assert text is None or text == " ".join(text.split())
    maldacena = list(read_papers(FIXTURE))[1]
    assert maldacena.comments == ("20 pages, harvmac, v2: section on AdS_2 corrected, references added, "
                                  "v3: more references")


@pytest.mark.parametrize(("raw", "expected"), [
    ("2505.09388v2", "2505.09388"),
    ("hep-th/9901001", "hep-th/9901001"),
    ("math.GT/0309136v1", "math.GT/0309136"),
    ("arXiv:0704.0001", "0704.0001"),
    ("not an id", None),
    (704.0001, None),  # a tool turned the string into a number: never guessed back
    (None, None),
])
def test_ids(tmp_path: Path, raw: object, expected: str | None) -> None:
    assert one(tmp_path, id=raw).arxiv_id == expected


@pytest.mark.parametrize(("versions", "update_date", "expected"), [
    ([{"version": "v1", "created": "Thu, 27 Nov 1997 20:52:06 GMT"}], "2015-06-26", date(1997, 11, 27)),
    ([], "2008-11-10", date(2008, 11, 10)),
    ([{"version": "v1", "created": "sometime in 1997"}], "2015-06-26", date(2015, 6, 26)),
    ([{"version": "v1"}], "2015-06-26", date(2015, 6, 26)),
    (None, None, None),
    ([], "13/11/2008", None),
])
def test_created_from_first_version_else_update_date(tmp_path: Path, versions: object, update_date: object,
                                                     expected: date | None) -> None:
    assert one(tmp_path, versions=versions, update_date=update_date).created == expected


def test_missing_optional_fields_give_none(tmp_path: Path) -> None:
    path = write(tmp_path, {"id": "0704.0002", "abstract": "Some abstract."})
    assert detect_format(path) == "kaggle"
    (paper,) = read_papers(path)
    assert (paper.title, paper.comments, paper.authors, paper.created, paper.categories) == (None, None, None, None, [])


def test_blank_lines_and_blank_abstracts_are_skipped(tmp_path: Path) -> None:
    path = write(tmp_path, "", record(id="2501.00001"), "   ", record(id="2501.00002", abstract=" \n "),
                 record(id="2501.00003", abstract=None), record(id="2501.00004"), "")
    papers = list(read_papers(path))
    assert [(p.arxiv_id, p.sources[0].position) for p in papers] == [("2501.00001", 2), ("2501.00004", 6)]


def test_byte_order_mark_and_crlf_line_ends(tmp_path: Path) -> None:
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + (json.dumps(record()) + "\r\n").encode() * 2)
    assert detect_format(path) == "kaggle"
    assert [p.arxiv_id for p in read_papers(path)] == ["2505.09388"] * 2


def test_first_line_longer_than_the_head_is_still_detected(tmp_path: Path) -> None:
    long_abstract = "We study alpha at length. " * (HEAD_BYTES // 20)
    path = write(tmp_path, record(abstract=long_abstract), record(id="0704.0001"))
    assert path.stat().st_size > HEAD_BYTES
    assert detect_format(path) == "kaggle"
    assert [p.arxiv_id for p in read_papers(path)] == ["2505.09388", "0704.0001"]


@pytest.mark.parametrize("head", [
    '{"id": "0704.0001", "title": "x"}\n',  # no abstract
    '{"abstract": "Some abstract."}\n',  # no id
    '[{"id": "0704.0001", "abstract": "x"}]\n',  # a JSON array, not JSON lines
    '{"id": "0704.0001", "abstract": "x"\n{"id": "0704.0002", "abstract": "y"}\n',  # a broken first line
    "Abstract: {\"id\": 1, \"abstract\": 2}\n",
    '<?xml version="1.0"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n',
    "In this work we present {\"abstract\": 1, \"id\": 2}\n",
])
def test_sniff_rejects_other_content(head: str) -> None:
    assert not kaggle.sniff(head)


@pytest.mark.parametrize(("bad", "why"), [
    ('{"id": "0704.0002", "abstract": "cut', "invalid JSON"),
    ("not json at all", "invalid JSON"),
    ('["0704.0002", "an abstract"]', "a JSON list, not an object"),
    ('"just a string"', "a JSON str, not an object"),
    ('{"id": "0704.0002", "title": "No abstract here"}', 'no "abstract" field'),
    ('{"id": "0704.0002", "abstract": ["a", "list"]}', '"abstract" is not a string'),
])
def test_bad_line_raises_naming_file_and_line(tmp_path: Path, bad: str, why: str) -> None:
    path = write(tmp_path, record(id="2501.00001"), "", bad, record(id="2501.00002"), name="dump.jsonl")
    papers = read_papers(path)
    assert next(papers).arxiv_id == "2501.00001"  # streamed: good records before the bad line come out first
    with pytest.raises(UnrecognisedFormat) as info:
        next(papers)
    assert str(info.value).startswith(f"{path}: line 3: not a snapshot record (")
    assert why in info.value.why
    assert info.value.path == str(path)


def test_invalid_utf8_is_unrecognised_format(tmp_path: Path) -> None:
    path = tmp_path / "latin1.json"
    latin1 = json.dumps(record(title="caf\u00e9"), ensure_ascii=False).encode("latin-1")
    path.write_bytes(json.dumps(record()).encode() + b"\n" + latin1 + b"\n")
    with pytest.raises(UnrecognisedFormat, match=r"latin1\.json: not UTF-8 text"):
        list(read_papers(path))


@pytest.mark.slow
def test_memory_stays_flat_on_200k_lines(tmp_path: Path) -> None:
    path = tmp_path / "arxiv-metadata-oai-snapshot.json"
    template = json.dumps(record(abstract="  We study alpha.\nAlpha models are compared on many tasks. " * 4))
    with path.open("w", encoding="utf-8") as f:
        for i in range(200_000):
            f.write(template.replace('"2505.09388"', f'"{2501 + i // 99_999}.{i % 99_999:05d}"') + "\n")
    assert path.stat().st_size > 100_000_000
    count, peak = count_with_peak_memory(read_papers(path))
    assert count == 200_000
    assert peak < 20_000_000, f"peak traced memory {peak / 1e6:.1f} MB"
