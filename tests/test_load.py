"""Load: 50 concurrent chat requests against the served HTTP API and the Gradio queue, with a
concurrency limit of 2: every request is answered (the limit queues, it does not fail)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from load import run

from qa.settings import Settings


@pytest.mark.slow
def test_fifty_concurrent_requests_all_answered(corpus_store: Settings, tmp_path: Path) -> None:
    shutil.copytree(corpus_store.store, tmp_path / "store")
    report = run(tmp_path / "store", requests=50, clients=50, concurrency=2, gradio=True,
                 model_cache=corpus_store.model_cache)
    for side in ("api", "gradio"):
        assert report[side]["requests"] == 50 and report[side]["errors"] == 0, report[side]["error_samples"]
        assert 0 < report[side]["p50_s"] <= report[side]["p95_s"] < 120
    assert report["server_peak_rss_mb"] > 0
