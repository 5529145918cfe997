"""eval/scale.py's report: the grown store's section of BENCHMARKS.md, from a recorded scale.json."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

sys.path[:0] = [str(ROOT / "eval")]
import scale  # noqa: E402

LATENCY = {"n": 200, "p50_ms": 10.0, "p95_ms": 20.0, "mean_ms": 12.0, "max_ms": 30.0}
COLD = {"runs_s": [2.0, 2.5, 2.1], "median_s": 2.1, "answer_in_process_median_s": 0.5, "peak_rss_mib": 900.0}


def rows(papers: int) -> list[dict[str, object]]:
    base = {"date": "2026-12-02T10:00:00+00:00", "load1": 1.5}
    ingest = [{**base, "phase": "ingest", "shard": f"shard-{i:02d}.jsonl", "shard_papers": papers // 2,
               "seconds": 100.0, "papers_per_s": 250.0 - i, "papers": papers // 2 * (i + 1),
               "chunks": papers // 2 * (i + 1) * 2, "peak_rss_mib": 3000.0,
               "disk_bytes": {"total": 2 * 2**30, "chroma": 2**30, "catalog": 2**29}} for i in range(2)]
    return [*ingest,
            {**base, "phase": "bm25_build", "chunks": papers * 2, "segments": 20, "build_s": 600.0,
             "rss_before_mib": 100.0, "rss_increase_mib": 900.0, "load_s": 0.05, "disk_bytes": 2**30,
             "peak_rss_mib": 1000.0},
            {**base, "phase": "answer_embedded", "chroma": "embedded", "chunks": papers * 2, "bm25": LATENCY,
             "dense": LATENCY, "hybrid": LATENCY, "peak_rss_mib": 4000.0, "cold_start": COLD},
            {**base, "phase": "answer_server", "chroma": "server", "chunks": papers * 2, "bm25": LATENCY,
             "dense": LATENCY, "hybrid": dict(LATENCY, p95_ms=60.0), "peak_rss_mib": 400.0,
             "cold_start": dict(COLD, median_s=4.0), "server_peak_rss_mib": 5000.0, "server_rss_at_start_mib": 100.0},
            {**base, "phase": "added", "papers": 1000, "empty-store_ingest_s": 10.0, "store_ingest_s": 12.0,
             "ratio": 1.2, "empty-store_bm25_update_s": 0.1, "store_bm25_update_s": 0.5, "empty-store_chunks": 2000,
             "store_chunks": papers * 2 + 2000}]


@pytest.mark.parametrize("papers", [100_000, 1_000_000])
def test_the_report_states_the_targets_and_replaces_its_section(tmp_path: Path, papers: int) -> None:
    (tmp_path / "scale.json").write_text(json.dumps(rows(papers)))
    target = tmp_path / "BENCHMARKS.md"
    target.write_text("# Benchmarks\n\nabove\n\n## Method\n\nbelow\n")
    written_once = ""
    for _ in range(3):  # written again: the section is replaced in place, not repeated, nothing else changes
        text = scale.report(tmp_path, target)
        assert target.read_text() == (written_once or target.read_text())
        written_once = target.read_text()
    written = target.read_text()
    assert written.count(scale.BEGIN) == 1 and written.index(scale.BEGIN) < written.index("## Method")
    assert ("1 M row is not measured" in text) == (papers < 1_000_000)
    assert ("at 1 M papers" in text) == (papers >= 1_000_000)
    assert "| hybrid p95 ≤ 50 ms, Chroma server | 60.0 ms | **no** |" in text
    assert "| cold `ask` ≤ 3 s, embedded | 2.10 s | yes |" in text
    assert "| 1,000 papers into the grown store ≤ 2x into an empty one (store open) | 1.20x | yes |" in text
    assert "8 cores" in text and "GPU" in text and "16 GiB workstation" in text
    assert "on the machine above" in text  # rows that do not say their CPU


def test_the_report_names_the_cpu_the_rows_were_measured_on(tmp_path: Path) -> None:
    recorded = [dict(r, cpu="Intel(R) Xeon(R) Processor") for r in rows(1_000_000)]
    (tmp_path / "scale.json").write_text(json.dumps(recorded))
    assert "on an Intel(R) Xeon(R) Processor (2 cores" in scale.report(tmp_path, tmp_path / "BENCHMARKS.md")


def test_added_papers_embedded_by_the_model_get_a_row_of_their_own(tmp_path: Path) -> None:
    """The storage-only figure (precomputed vectors) stays the target's; a run with --real-embed adds a row."""
    base = {"date": "2026-12-02T10:00:00+00:00", "load1": 1.5, "phase": "added", "papers": 1000,
            "empty-store_bm25_update_s": 0.1, "store_bm25_update_s": 0.5}
    recorded = [*rows(1_000_000),
                {**base, "embedding": "model", "empty-store_ingest_s": 80.0, "store_ingest_s": 90.0, "ratio": 1.12},
                {**base, "empty-store_ingest_s": 3.0, "store_ingest_s": 12.0, "ratio": 4.0}]
    (tmp_path / "scale.json").write_text(json.dumps(recorded))
    text = scale.report(tmp_path, tmp_path / "BENCHMARKS.md")
    assert "| 1,000 papers into the grown store ≤ 2x into an empty one (store open) | 4.00x | **no** |" in text
    assert "embedded by the model as a user's ingest does (store open) | 1.12x (90 s vs 80 s) | yes |" in text
    (tmp_path / "scale.json").write_text(json.dumps(recorded[:-2]))
    assert "embedded by the model" not in scale.report(tmp_path, tmp_path / "BENCHMARKS.md")


def test_the_added_papers_are_new_to_a_million_paper_store(tmp_path: Path) -> None:
    """The synthetic IDs repeat (every 1.1M records; old-style ones sooner), so the added papers get IDs of
    their own: ingesting them adds papers, as the measurement says, instead of changing stored ones."""
    import random

    import synth

    added = [json.loads(line)["id"] for run in (0, 1)
             for line in scale.added_corpus(tmp_path, seed=7, run=run).read_text().splitlines()]
    assert len(added) == len(set(added)) == 2 * scale.ADDED
    rng = random.Random(0)
    shard_ids = {synth.record(n, rng)["id"] for start in range(0, 1_000_000, 100_000)
                 for n in range(start, start + scale.ADDED * 2)}  # the record numbers the old IDs repeated
    assert not shard_ids & set(added)
    wrapped = {synth.record(n, rng)["id"] for n in range(scale.ADDED_FROM, scale.ADDED_FROM + scale.ADDED)}
    assert wrapped & {synth.record(n, rng)["id"] for n in range(900_000, 900_000 + scale.ADDED)}  # why


def test_with_the_dense_view_the_targets_take_its_figures_and_chromas_own_are_kept_beside(tmp_path: Path) -> None:
    base = {"date": "2026-12-02T10:00:00+00:00", "load1": 1.5}
    recorded = rows(1_000_000)
    chroma = {**recorded[3], "phase": "answer_embedded_chroma", "dense_view": False, "peak_rss_mib": 5200.0,
              "cold_start": dict(COLD, median_s=7.5, peak_rss_mib=4300.0)}
    viewed = {**recorded[3], "dense_view": True, "peak_rss_mib": 1200.0, "rss_file_mib": 300.0,
              "cold_start": dict(COLD, median_s=1.9, peak_rss_mib=700.0)}
    built = {**base, "phase": "dense_build", "parts": 20, "build_s": 900.0, "rss_before_mib": 500.0,
             "rss_increase_mib": 4000.0, "load_s": 0.02, "disk_bytes": 3 * 2**30, "peak_rss_mib": 4500.0}
    added = [dict(r, store_view_catch_up_s=1.25) if r["phase"] == "added" else r for r in recorded[4:]]
    (tmp_path / "scale.json").write_text(json.dumps([*recorded[:3], built, chroma, viewed, *added]))
    text = scale.report(tmp_path, tmp_path / "BENCHMARKS.md")
    assert "| answering process with embedded Chroma ≤ 5 GiB RSS | 1.17 GiB | yes |" in text
    assert "| cold `ask` ≤ 3 s, embedded | 1.90 s | yes |" in text
    assert "| cold `arxiv-qa ask`, embedded, the view off (7.50 s median) | 4.20 GiB |" in text
    assert "dense view build from the vector store (20 parts, 900 s" in text and "dense view 3.00 GiB" in text
    assert "| embedded, the view off | 10.0 / 20.0 ms" in text
    assert "The same 1,000 new papers took 12.0 s" in text
    assert "the BM25 index and the dense view up to date in 1.25 s of that" in text


def test_a_named_section_is_written_beside_the_default_one(tmp_path: Path) -> None:
    (tmp_path / "scale.json").write_text(json.dumps(rows(1_000_000)))
    target = tmp_path / "BENCHMARKS.md"
    target.write_text("# Benchmarks\n\n## Method\n")
    first = scale.report(tmp_path, target)
    (tmp_path / "scale.json").write_text(json.dumps(rows(400_000)))
    other = scale.report(tmp_path, target, "dense-view")
    written = target.read_text()
    assert first in written and other in written  # the 1 M section kept, the other added
    assert "## One store grown by `eval/scale.py` to 400,000 papers: dense-view (measured)" in other
    assert scale.report(tmp_path, target, "dense-view") == other and target.read_text() == written


def test_the_runs_of_the_last_method_are_listed_with_the_slowest_catch_up(tmp_path: Path) -> None:
    recorded = rows(1_000_000)
    old = next(r for r in recorded if r["phase"] == "added")
    writer = [dict(old, opened="as a writer", ratio=ratio, store_view_catch_up_s=catch_up, peak_rss_mib=900.0)
              for ratio, catch_up in ((1.88, 0.39), (12.1, 26.6), (1.76, 0.5))]
    (tmp_path / "scale.json").write_text(json.dumps([*recorded, *writer]))
    text = scale.report(tmp_path, tmp_path / "BENCHMARKS.md")
    assert "Over the 3 runs measured so, in order, the ratios were 1.88x, 12.10x, 1.76x" in text
    assert "the slowest catch-up took 26.60 s" in text
    assert "once each store was open as a writer opens it" in text
    assert "| the same, counting what the writer opens first |" in text
    assert "peaked at 900 MiB" in text
