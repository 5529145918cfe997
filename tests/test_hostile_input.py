"""Hostile input files: deep JSON, Windows line ends, a bad line mid-file, huge records, huge lines,
an Atom summary made of elements. Each is one line and exit 2 at most; nothing good is lost."""

from __future__ import annotations

import json
import shutil
from dataclasses import astuple, replace
from pathlib import Path

import pytest

from qa.errors import UnrecognisedFormat
from qa.index.writer import Writer
from qa.ingest import bundled_corpus, ingest
from qa.ingest.sources import detect_format, read_papers
from qa.limits import MAX_JSON_DEPTH, JSONTooDeep, Limits, load_json
from qa.papers import Paper
from qa.settings import Settings
from tests.conftest import DATA, HASH, HASH_ENV, count_with_peak_memory, run_cli
from tests.corpusgen import write_blocks, write_kaggle

DEEP_LINE = '{"id": "2501.00001", "abstract": "Deep.", "x": ' + "[" * 1000 + "]" * 1000 + "}"  # 2 KB


def _kaggle_line(number: int, abstract: str = "We study a model. It works. We show it.") -> str:
    return json.dumps({"id": f"2501.{number:05d}", "title": f"Paper {number}", "abstract": abstract})


# --- JSON nested 1,000 deep ---
def test_json_depth_limit() -> None:
    assert load_json("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH) is not None
    assert load_json(json.dumps({"a": "[[[[" * 100})) == {"a": "[[[[" * 100}  # brackets in a string
    for text in ("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1), "[" * 100_000, DEEP_LINE):
        with pytest.raises(JSONTooDeep):
            load_json(text)


@pytest.mark.parametrize("where", ["first", "later"])
def test_deep_json_line_is_a_named_bad_line(tmp_path: Path, where: str) -> None:
    path = tmp_path / "deep.jsonl"
    lines = [DEEP_LINE] if where == "first" else [_kaggle_line(1), _kaggle_line(2), DEEP_LINE]
    path.write_text("\n".join(lines) + "\n")
    read: list[Paper] = []
    with pytest.raises(UnrecognisedFormat) as err:
        read.extend(read_papers(path))
    assert str(path) in str(err.value) and "\n" not in str(err.value)
    assert len(read) == len(lines) - 1
    assert "nested deeper than 32 levels" in str(err.value) or "unrecognised layout" in str(err.value)


@pytest.mark.slow
def test_deep_json_beside_good_files_through_the_cli(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(bundled_corpus() / "000_ad384d0920ecebd8.txt", folder / "good.txt")
    (folder / "deep_first.jsonl").write_text(DEEP_LINE + "\n")
    (folder / "deep_later.jsonl").write_text(f"{_kaggle_line(1)}\n{_kaggle_line(2)}\n{DEEP_LINE}\n")
    store = tmp_path / "s"
    done = run_cli("ingest", str(folder), store=store, env=HASH_ENV)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("arxiv-qa:")]
    assert len(errors) == 2 and "deep_first.jsonl" in errors[0] and "deep_later.jsonl: line 3" in errors[1]
    assert "the 2 records before it are stored" in errors[1]
    assert json.loads(run_cli("stats", "--json", store=store).stdout)["papers"] == 12
    assert not (store / ".ingest-unfinished").exists()
    batch = tmp_path / "questions.jsonl"
    batch.write_text('{"id": 1, "question": "What is Qwen3?"}\n' + DEEP_LINE.replace('"id"', '"question"') + "\n")
    asked = run_cli("ask", "--batch", str(batch), "--json", store=store, env=HASH_ENV)
    assert asked.returncode == 2 and asked.stdout == "" and "Traceback" not in asked.stderr
    assert asked.stderr.strip() == f"arxiv-qa: {batch}: line 2 is nested deeper than 32 levels"


# --- Windows (CRLF) line ends, a byte order mark, old Mac (CR) line ends ---
LAYOUT_FILES = [*sorted(bundled_corpus().glob("*.txt")), DATA / "arxiv_api.atom.xml", DATA / "kaggle_snapshot.jsonl"]
LINE_ENDS = {"crlf": (b"", b"\r\n"), "bom+crlf": (b"\xef\xbb\xbf", b"\r\n"), "cr": (b"", b"\r")}


def _content(papers: list[Paper]) -> list[tuple[object, ...]]:
    return [astuple(replace(p, sources=[replace(s, file="") for s in p.sources])) for p in papers]


@pytest.mark.parametrize("ends", sorted(LINE_ENDS))
@pytest.mark.parametrize("original", LAYOUT_FILES, ids=lambda p: p.name)
def test_every_layout_reads_the_same_with_other_line_ends(tmp_path: Path, original: Path, ends: str) -> None:
    bom, newline = LINE_ENDS[ends]
    path = tmp_path / original.name
    path.write_bytes(bom + original.read_bytes().replace(b"\n", newline))
    assert detect_format(path) == detect_format(original)
    papers = list(read_papers(path))
    assert papers and _content(papers) == _content(list(read_papers(original)))


# --- a bad line mid-file: the file is read up to it, and the message says what is stored ---
@pytest.mark.slow
def test_truncated_kaggle_line_keeps_the_records_before_it_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "snapshot.jsonl"
    write_kaggle(path, 50)  # the attack's 2,300 good lines at 256 a batch, scaled down to 4 a batch
    with path.open("a") as f:
        f.write(_kaggle_line(99)[:40] + "\n" + _kaggle_line(100) + "\n")  # a line cut short, then one more
    store = tmp_path / "s"
    for _ in range(2):  # the file is not recorded as done: the second run reads it again, and says the same
        done = run_cli("ingest", str(path), store=store, env={**HASH_ENV, "ARXIV_QA_INGEST_BATCH": "4"})
        assert done.returncode == 2 and "Traceback" not in done.stderr
        errors = [line for line in done.stderr.splitlines() if line.startswith("arxiv-qa:")]
        assert len(errors) == 1 and errors[0].startswith(f"arxiv-qa: skipped the rest of {path}: line 51: not a "
                                                         "snapshot record (invalid JSON: ")
        assert errors[0].endswith("): the 50 records before it are stored")
        assert "1 file(s) ingested (1 only up to a bad record)" in done.stdout and "50 records stored" in done.stdout
        stats = json.loads(run_cli("stats", "--json", store=store).stdout)
        assert stats["papers"] == 50
    assert "0 chunks embedded" in done.stdout


# --- records and lines over the size limits ---
@pytest.mark.slow
def test_huge_records_are_skipped_with_one_line_each_and_the_rest_stored(tmp_path: Path) -> None:
    path = tmp_path / "snapshot.jsonl"
    huge, big = "Tokens and more tokens. " * 275_000, "Tokens and more tokens. " * 12_500  # 6.6 MB, 300 KB
    lines = [_kaggle_line(1), _kaggle_line(2, huge), _kaggle_line(3, big), _kaggle_line(4)]
    path.write_text("\n".join(lines) + "\n")
    store = tmp_path / "s"
    done = run_cli("ingest", str(path), store=store, env=HASH_ENV, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("arxiv-qa:")]
    assert errors == [
        f"arxiv-qa: skipped {path}: line 2: a line of more than 1,000,000 characters, over the limit "
        "(ARXIV_QA_MAX_LINE_CHARS)",
        f"arxiv-qa: skipped {path}: line 3: an abstract of 299,999 characters, over the limit of 100,000 "
        "(ARXIV_QA_MAX_ABSTRACT_CHARS)"]
    assert "2 records stored (2 skipped)" in done.stdout
    assert json.loads(run_cli("stats", "--json", store=store).stdout)["papers"] == 2
    raised = run_cli("ingest", str(path), store=store, env={**HASH_ENV, "ARXIV_QA_MAX_ABSTRACT_CHARS": "400000"})
    assert raised.returncode == 2 and "3 records stored (1 skipped)" in raised.stdout  # not taken for unchanged
    assert json.loads(run_cli("stats", "--json", store=store).stdout)["papers"] == 3


HUGE_LINE = 30_000_000


@pytest.mark.parametrize("layout", ["kaggle", "blocks"])
def test_a_30_mb_line_is_skipped_without_being_read_whole(tmp_path: Path, layout: str) -> None:
    path = tmp_path / "dump"
    good = [_kaggle_line(1), _kaggle_line(2)] if layout == "kaggle" else [
        "We study a model. It works.\n\narXiv:2501.00001\nCreated: 2025-01-02\n",
        "We study another model. It works too.\n\narXiv:2501.00002\nCreated: 2025-01-02\n"]
    with path.open("w") as f:
        f.write(good[0] + "\n")
        for _ in range(HUGE_LINE // 1_000_000):
            f.write("Word " * 200_000)
        f.write("\n\n" + good[1] + "\n")
    limits = Limits()
    count, peak = count_with_peak_memory(read_papers(path, limits))
    assert count == 2 and limits.skipped == 1 and peak < 8_000_000
    line = 2 if layout == "kaggle" else 6
    assert limits.notes == [f"{path}: line {line}: a line of more than 1,000,000 characters, over the limit "
                            "(ARXIV_QA_MAX_LINE_CHARS)"]


def test_abstract_over_many_lines_is_capped_while_read(tmp_path: Path) -> None:
    path = tmp_path / "dump.txt"
    line = "We study a model at length, line after line. " * 20
    with path.open("w") as f:
        f.write("We study a model. It works.\n\narXiv:2501.00001\nCreated: 2025-01-02\n\n")
        f.writelines(line + "\n" for _ in range(20_000))  # 18 MB of one abstract
        f.write("\narXiv:2501.00002\nCreated: 2025-01-02\n")
    limits = Limits()
    count, peak = count_with_peak_memory(read_papers(path, limits))
    assert count == 1 and limits.skipped == 1
    assert f"record 2: an abstract of {20_000 * (len(line) + 1):,} characters" in limits.notes[0]
    assert peak < 8_000_000


@pytest.mark.slow
def test_upserts_are_split_by_the_vector_stores_max_batch(settings: Settings, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch holding more chunks than Chroma takes in one call (5,461 on this machine; lowered to 20
    here) is written in pieces, as with ARXIV_QA_INGEST_BATCH=3000 or one abstract of 6 MB."""
    from chromadb.api.models.Collection import Collection
    from chromadb.api.rust import RustBindingsAPI

    limit, sizes = 20, []
    monkeypatch.setattr(RustBindingsAPI, "get_max_batch_size", lambda self: limit)
    for name in ("upsert", "delete", "get", "update"):
        real = getattr(Collection, name)

        def capped(self: Collection, *args: object, _real: object = real, **kw: object) -> object:
            ids = kw.get("ids") or []
            if isinstance(ids, list) and len(ids) > limit:  # as Chroma refuses a batch over its maximum
                raise ValueError(f"Batch size of {len(ids)} is greater than max batch size of {limit}")
            sizes.append(len(ids) if isinstance(ids, list) else 0)
            return _real(self, *args, **kw)  # type: ignore[operator]

        monkeypatch.setattr(Collection, name, capped)
    dump = tmp_path / "dump.txt"
    write_blocks(dump, 40)
    store = Writer(settings.model_copy(update={**HASH, "ingest_batch": 3000}))
    report = ingest(store, [str(dump)])
    assert report.records == 40 and report.chunks_embedded > 2 * limit and max(sizes) == limit
    write_blocks(dump, 40, seed=5)  # every abstract changed: the old chunks are read and deleted in pieces too
    assert ingest(store, [str(dump)]).records == 40
    ids = store.vector_ids()
    assert len(ids) == len(set(ids)) == store._catalog.count_chunk_ids()


# --- an Atom summary made of elements ---
def test_atom_summary_with_child_elements_keeps_all_its_text(tmp_path: Path) -> None:
    path = tmp_path / "api.xml"
    summaries = ['<div xmlns="http://www.w3.org/1999/xhtml"><p>We study <b>alpha</b> models.</p>'
                 "<p>H<sub>2</sub>O helps.</p></div>", "Intro <i>beta</i> tail."]
    entries = "".join(f"<entry><id>http://arxiv.org/abs/2505.0938{i}v1</id><summary type='xhtml'>{s}</summary></entry>"
                      for i, s in enumerate(summaries))
    path.write_text(f'<feed xmlns="http://www.w3.org/2005/Atom">{entries}</feed>')
    assert [p.abstract for p in read_papers(path)] == ["We study alpha models. H2O helps.", "Intro beta tail."]
