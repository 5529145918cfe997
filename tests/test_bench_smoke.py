"""The benchmark (eval/bench.py) at its smallest: every measurement is there and sane. Not a timed test."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import MODEL_CACHE, ROOT

pytestmark = pytest.mark.bench

STAGES = ("parse", "merge", "chunk", "embed", "store")


def test_bench_smoke_writes_every_measurement(tmp_path: Path) -> None:
    out = tmp_path / "bench"
    done = subprocess.run(
        [sys.executable, str(ROOT / "eval" / "bench.py"), "--smoke", "--out", str(out),
         "--work", str(tmp_path / "work"), "--model-cache", str(MODEL_CACHE)],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())

    assert results["machine"]["logical_cores"] >= 1 and len(results["load_at_start"]) == 3
    assert results["load"]["samples"] >= 1
    sizes = results["sizes"]
    assert [r["papers"] for r in sizes] == [40, 80]
    assert [r["full_embedding"] for r in sizes] == [True, False]  # the larger one uses precomputed vectors
    for r in sizes:
        assert r["chunks"] >= r["papers"]
        ingest = r["ingest"]
        assert set(ingest["stage_papers_per_s"]) == set(STAGES)
        assert all(ingest["stage_papers_per_s"][s] > 0 for s in STAGES), ingest
        assert ingest["papers_per_s"] > 0 and r["bare_embed"]["papers_per_s"] > 0
        assert r["peak_rss_ingest_mib"] > 0 and r["peak_rss_mib"] >= r["peak_rss_ingest_mib"]
        assert r["disk_bytes"]["total"] > 0 and r["disk_bytes"]["chroma"] > 0 and r["disk_bytes"]["catalog"] > 0
        for method in ("bm25", "dense", "hybrid"):
            lat = r["retrieval"][method]
            assert lat["n"] == 20 and 0 < lat["p50_ms"] <= lat["p95_ms"]
        assert r["answer_extractive"]["n"] == 5 and r["answer_extractive"]["p95_ms"] > 0
        assert r["cold_start"]["median_s"] > 0
    assert sizes[0]["ingest"]["vs_bare_embed"] > 0
    assert sizes[1]["ingest"]["papers_per_s_estimated"] > 0

    embedding = results["embedding"]["onnx-int8"]
    assert embedding["abstracts_per_s"] > 0 and 0 < embedding["ndcg@10"] <= 1
    assert embedding["gold_questions"] == results["settings"]["gold_max"] == 30
    assert results["cold_start_bundled"]["median_s"] > 0
    assert {"cold_start_bundled_lt_4s", "ingest_ge_0.9_of_bare_embed"} <= set(results["checks"])

    report = (out / "BENCHMARKS.md").read_text()
    for heading in ("## Targets", "## Ingest throughput by stage", "## Memory and disk", "## Latency",
                    "## Embedding backends", "## Scale", "## Reproduce"):
        assert heading in report
    assert "precomputed" in report.lower()
    for plot in ("latency.png", "memory.png", "throughput.png", "embedding.png"):
        assert (out / plot).stat().st_size > 1000
