"""Property-based fuzzing of every parser: nothing escapes but the documented `UnrecognisedFormat`,
well-formed records of each layout come back with their IDs and texts (whatever the line ends),
JSON nested to any depth is refused in one line, no record over the size limits comes back, and every record
survives having its LaTeX made text."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa.errors import UnrecognisedFormat
from qa.ingest.merge import cleaned
from qa.ingest.sources import read_papers
from qa.limits import MAX_JSON_DEPTH, Limits
from qa.papers import Paper

pytestmark = pytest.mark.slow  # hundreds of generated inputs per test
FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
WORDS = st.sampled_from("model data arXiv: Abstract: Created: 2025-06-05 <feed> { } \" \\ \n \r\n ü 数据 \x00 "
                        "percent $ \\textbf{ \\times 0.6B arXiv:2506.05176 arXiv:2506.0517612 <entry> </summary> "
                        "& ; , .".split(" "))


def parse_bytes(data: bytes, suffix: str = ".txt", limits: Limits | None = None) -> list[Paper]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"fuzz{suffix}"
        path.write_bytes(data)
        return list(read_papers(path, limits))


def only_documented_errors(data: bytes, suffix: str = ".txt", limits: Limits | None = None) -> None:
    try:
        papers = parse_bytes(data, suffix, limits)
    except UnrecognisedFormat as e:
        assert "fuzz" in str(e) and "\n" not in str(e)
        return
    for paper in papers:
        assert paper.abstract.strip() and paper.sources
        assert cleaned(paper).abstract.strip()  # as ingest stores it: LaTeX made text, never blank


@FUZZ
@given(st.binary(max_size=2000))
def test_random_bytes(data: bytes) -> None:
    only_documented_errors(data)


@FUZZ
@given(st.lists(WORDS, max_size=200).map(" ".join))
def test_word_soup_of_every_layouts_markers(text: str) -> None:
    only_documented_errors(text.encode("utf-8", "surrogatepass"))


@FUZZ
@given(st.text(max_size=1500))
def test_random_unicode(text: str) -> None:
    only_documented_errors(text.encode("utf-8", "surrogatepass"))


@FUZZ
@given(st.lists(st.dictionaries(st.sampled_from(["id", "abstract", "title", "versions", "categories",
                                                  "update_date", "authors", "comments"]),
                                st.one_of(st.none(), st.text(max_size=50), st.integers(), st.lists(st.text()))),
                min_size=1, max_size=5))
def test_kaggle_lines_with_wrong_types(records: list[dict[str, object]]) -> None:
    only_documented_errors("\n".join(json.dumps(r) for r in records).encode())


@FUZZ
@given(st.text(max_size=300))
def test_atom_with_arbitrary_entry_text(text: str) -> None:
    escaped = text.replace("&", "&amp;").replace("<", "&lt;")
    feed = (f'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><entry><id>http://arxiv.org/abs/'
            f"2505.09388v1</id><title>{escaped}</title><summary>{escaped}</summary></entry></feed>")
    only_documented_errors(feed.encode("utf-8", "surrogatepass"))


ABSTRACT = st.lists(st.sampled_from("We study models data tokens reasoning benchmark results improve".split()),
                    min_size=30, max_size=60).map(lambda w: " ".join(w).capitalize() + ". It works. We show it.")
IDS = st.lists(st.integers(10000, 99999), min_size=1, max_size=6, unique=True)


@FUZZ
@given(IDS, st.data())
def test_blocks_layout_round_trip(numbers: list[int], data: st.DataObject) -> None:
    texts = [data.draw(ABSTRACT) for _ in numbers]
    dump = "\n\n".join(f"{t}\n\narXiv:2501.{n}\nCreated: 2025-01-02" for t, n in zip(texts, numbers, strict=True))
    papers = parse_bytes(dump.encode())
    assert [p.arxiv_id for p in papers] == [f"2501.{n}" for n in numbers]
    assert [p.abstract for p in papers] == texts


@FUZZ
@given(IDS, st.data())
def test_runtogether_layout_round_trip(numbers: list[int], data: st.DataObject) -> None:
    texts = [data.draw(ABSTRACT) for _ in numbers]
    dump = texts[0] + "".join(f"\narXiv:2501.{n}{t}" for n, t in zip(numbers, texts[1:], strict=False))
    dump += f"\narXiv:2501.{numbers[-1]}\n"
    papers = parse_bytes(dump.encode())
    assert [p.arxiv_id for p in papers] == [f"2501.{n}" for n in numbers]
    assert [p.abstract for p in papers] == texts


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(IDS, st.data())
def test_line_ends_do_not_change_what_is_read(numbers: list[int], data: st.DataObject) -> None:
    texts = [data.draw(ABSTRACT) for _ in numbers]
    dumps = [
        "\n\n".join(f"{t}\n\narXiv:2501.{n}\nCreated: 2025-01-02" for t, n in zip(texts, numbers, strict=True)),
        texts[0] + "".join(f"\narXiv:2501.{n}{t}" for n, t in zip(numbers, texts[1:], strict=False))
        + f"\narXiv:2501.{numbers[-1]}\n",
        "header line\n" + "".join(f"Abstract:{t}\n" for t in texts),
        "".join(json.dumps({"id": f"2501.{n}", "abstract": t}) + "\n" for t, n in zip(texts, numbers, strict=True)),
    ]
    for dump in dumps:
        lf = [(p.abstract, p.arxiv_id, p.created, p.sources[0].position) for p in parse_bytes(dump.encode())]
        assert [x[0] for x in lf] == texts
        for bom, newline in ((b"", b"\r\n"), (b"\xef\xbb\xbf", b"\r\n"), (b"", b"\r")):
            papers = parse_bytes(bom + dump.encode().replace(b"\n", newline))
            assert [(p.abstract, p.arxiv_id, p.created, p.sources[0].position) for p in papers] == lf


OPEN = st.sampled_from(["[", '{"k": ', '{"abstract": ', '[{"a": [', "[1, "])


@FUZZ
@given(st.lists(OPEN, min_size=1, max_size=6), st.one_of(st.integers(0, 40), st.integers(41, 5000)),
       st.sampled_from(["line", "field", "abstract"]))
def test_json_nested_to_any_depth_is_refused_in_one_line(pattern: list[str], levels: int, where: str) -> None:
    openers = (pattern * (levels // len(pattern) + 1))[:levels]
    closers = "".join({"[": "]", "{": "}"}[c] for o in reversed(openers) for c in reversed(o) if c in "[{")
    nested = "".join(openers) + "0" + closers
    record = {"line": nested, "field": f'{{"id": "2501.00001", "abstract": "Fine.", "x": {nested}}}',
              "abstract": f'{{"id": "2501.00001", "abstract": {nested}}}'}[where]
    good = json.dumps({"id": "2501.00002", "abstract": "First."})
    data = f"{good}\n{record}\n".encode()
    depth = sum(o.count("[") + o.count("{") for o in openers) + (1 if where != "line" else 0)
    try:
        papers = parse_bytes(data)
    except UnrecognisedFormat as e:
        assert "fuzz" in str(e) and "\n" not in str(e)
        assert depth > MAX_JSON_DEPTH or where != "field"
        return
    assert depth <= MAX_JSON_DEPTH and [p.abstract for p in papers][:1] == ["First."]


SIZES = st.lists(st.one_of(st.integers(20, 900), st.integers(1100, 12_000)), min_size=1, max_size=12)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(SIZES, st.sampled_from(["kaggle", "blocks", "abstracts"]))
def test_no_record_over_the_limits_comes_back(sizes: list[int], layout: str) -> None:
    texts = [("Word " * (size // 5 + 1))[:size].strip() + "." for size in sizes]
    ids = [f"2501.{10000 + i}" for i in range(len(texts))]
    dump = {
        "kaggle": "".join(json.dumps({"id": i, "abstract": t}) + "\n" for t, i in zip(texts, ids, strict=True)),
        "blocks": "".join(f"{t}\n\narXiv:{i}\nCreated: 2025-01-02\n\n" for t, i in zip(texts, ids, strict=True)),
        "abstracts": "".join(f"Abstract:{t}\n" for t in texts),
    }[layout]
    limits = Limits(max_abstract_chars=1000, max_line_chars=8000)
    papers = parse_bytes(dump.encode(), limits=limits)
    assert [p.abstract for p in papers] == [t for t in texts if len(t) <= 1000]
    assert limits.skipped == sum(len(t) > 1000 for t in texts) == len(limits.notes)
