"""The quality gate: the whole eval, extractive, on the bundled corpus, against eval/thresholds.toml.

Also the `arxiv-qa eval` command, and the optional LLM answers and LLM judge against a fake endpoint.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from qa.errors import LLMError
from qa.evaluate import EvalReport, Evaluator, evaluate_store, load_gold
from qa.report import check_thresholds, summary, write_report
from qa.settings import Settings
from qa.store import Store
from tests.conftest import ROOT, run_cli
from tests.fakes.openai_server import Exchange, FakeOpenAI, Reply, Status

GOLD = ROOT / "eval" / "gold.jsonl"
THRESHOLDS = ROOT / "eval" / "thresholds.toml"
RETRIEVAL_KEYS = {"hit@1", "hit@5", "recall@5", "mrr", "ndcg@10"}
ANSWER_KEYS = {"must_include", "token_f1", "citation_precision", "citation_recall", "fabricated_citations",
               "refusal_precision", "refusal_recall", "latency_p50_s", "latency_p95_s"}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run(corpus_store: Settings, tmp_path_factory: pytest.TempPathFactory) -> tuple[EvalReport, dict[str, Any], Path]:
    """One extractive eval of the whole gold set, its summary, and the directory its report went to."""
    report = evaluate_store(corpus_store, GOLD, modes=["extractive"])
    out = tmp_path_factory.mktemp("eval-out")
    write_report(report, out)
    return report, summary(report), out


@pytest.fixture(scope="module")
def thresholds() -> dict[str, Any]:
    return tomllib.loads(THRESHOLDS.read_text())


def test_every_threshold_holds(run: tuple[EvalReport, dict[str, Any], Path], thresholds: dict[str, Any]) -> None:
    failures = check_thresholds(run[1], thresholds)
    assert not failures, "quality gate failed:\n" + "\n".join(failures) + "\n(see eval/README.md)"


def test_thresholds_keep_the_floor(thresholds: dict[str, Any]) -> None:
    """Nobody lowers the gate below the floor the product promises."""
    extractive = thresholds["answers"]["extractive"]
    assert thresholds["retrieval"]["hybrid"]["hit@5"] >= 0.95
    assert extractive["max"]["fabricated_citations"] == 0
    assert extractive["refusal_recall"] >= 0.9
    assert extractive["max"]["latency_p95_s"] <= 3.0
    assert set(thresholds["retrieval"]) >= {"bm25", "dense", "hybrid"}
    for name in ("bm25", "dense", "hybrid"):
        assert set(thresholds["retrieval"][name]) == RETRIEVAL_KEYS
    assert set(extractive) - {"max"} | set(extractive["max"]) >= ANSWER_KEYS


def test_hybrid_beats_the_plain_recipe(run: tuple[EvalReport, dict[str, Any], Path]) -> None:
    retrieval = run[1]["retrieval"]
    assert retrieval["hybrid"]["hit@5"] >= retrieval["baseline"]["hit@5"]
    assert retrieval["hybrid"]["hit@5"] >= retrieval["baseline_all"]["hit@5"]
    assert retrieval["hybrid"]["hit@5"] >= max(retrieval["bm25"]["hit@5"], retrieval["dense"]["hit@5"]) - 0.02


def test_summary_shape(run: tuple[EvalReport, dict[str, Any], Path], corpus_store: Settings) -> None:
    report, figures, _ = run
    assert figures["questions"] == 92 and figures["answerable"] == 77
    assert set(figures["retrieval"]) == {"bm25", "dense", "hybrid", "baseline", "baseline_all"}
    assert all(set(m) == RETRIEVAL_KEYS for m in figures["retrieval"].values())
    assert set(figures["answers"]) == {"extractive"} and set(figures["answers"]["extractive"]) == ANSWER_KEYS
    stored = {p.doc_key for p in Store(corpus_store).catalog.papers()}
    assert all(set(r.ranked[name]) <= stored for r in report.answerable() for name in r.ranked)


def test_report_files_are_written(run: tuple[EvalReport, dict[str, Any], Path]) -> None:
    _, figures, out = run
    for name in ("retrieval.png", "answers.png", "latency.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (out / "report.md").read_text()
    assert "| hybrid |" in md and "| baseline |" in md and f"### Misses ({len(figures['misses'])})" in md
    data = json.loads((out / "report.json").read_text())
    assert data["retrieval"] == figures["retrieval"]
    assert len(data["per_question"]) == 92


# --- the command ---
SMALL_GOLD = [line for line in GOLD.read_text().splitlines() if '"q001"' in line or '"q080"' in line]


def test_cli_eval_json(tmp_path: Path) -> None:
    """On an empty store: ingests the sample first (saying so), prints the documented JSON, writes the report."""
    gold = tmp_path / "gold.jsonl"
    gold.write_text("\n".join(SMALL_GOLD) + "\n")
    out = tmp_path / "out"
    result = run_cli("eval", "--json", "--gold", str(gold), "--out", str(out), store=tmp_path / "store")
    assert result.returncode == 0, result.stderr
    assert "is empty: ingesting the bundled sample corpus" in result.stderr
    figures = json.loads(result.stdout)
    assert figures["questions"] == 2
    for name in ("bm25", "dense", "hybrid", "baseline"):
        assert set(figures["retrieval"][name]) >= RETRIEVAL_KEYS
    assert set(figures["answers"]["extractive"]) >= ANSWER_KEYS
    assert "llm" not in figures["answers"]
    assert {p.name for p in out.iterdir()} >= {"report.md", "report.json", "retrieval.png", "latency.png"}


@pytest.mark.parametrize(("content", "args", "message"), [
    (None, (), "cannot read the gold file"),
    ("not json\n", (), "line 1 is not a gold item"),
    (SMALL_GOLD[0], ("--judge",), "--judge needs an LLM"),
])
def test_cli_eval_bad_input(tmp_path: Path, content: str | None, args: tuple[str, ...], message: str) -> None:
    gold = tmp_path / "gold.jsonl"
    if content is not None:
        gold.write_text(content)
    result = run_cli("eval", "--gold", str(gold), "--out", str(tmp_path / "out"), *args, store=tmp_path / "store")
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "store").exists()  # nothing was ingested


# --- LLM answers and the LLM judge, against a fake endpoint ---
JUDGE_MARK = "expert evaluation system"  # in the system prompt of LlamaIndex's CorrectnessEvaluator


def fake_llm(ex: Exchange) -> None:
    """The judge gets a score; the answerer a cited answer (plus an invented ID) or a refusal."""
    messages = ex.request.messages
    if JUDGE_MARK in str(messages[0].get("content", "")):
        Reply("4.5\nThe generated answer matches the reference.").serve(ex)
    elif "Qwen3 Embedding" in str(messages[-1].get("content", "")).rsplit("Question:", 1)[-1]:
        Reply("The series offers 0.6B, 4B and 8B models [arXiv:2506.05176], see also [arXiv:2599.99999].").serve(ex)
    else:
        Reply("The retrieved abstracts do not answer this question.").serve(ex)


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(default=fake_llm) as server:
        yield server


def small_gold(tmp_path: Path) -> Path:
    gold = tmp_path / "gold.jsonl"
    gold.write_text("\n".join(SMALL_GOLD) + "\n")
    return gold


def test_llm_answers_and_judge(corpus_store: Settings, fake: FakeOpenAI, tmp_path: Path) -> None:
    settings = corpus_store.model_copy(update={"openai_base_url": fake.base_url, "llm_max_retries": 0})
    gold = small_gold(tmp_path)
    report = Evaluator(settings, Store(settings)).run(load_gold(gold), gold, judge=True)
    answers = summary(report)["answers"]
    assert report.modes == ["extractive", "llm"]
    llm = answers["llm"]
    assert llm["must_include"] == 1.0 and llm["citation_precision"] == 1.0
    assert llm["fabricated_citations"] == 1  # the invented arXiv:2599.99999 was removed and counted
    assert llm["refusal_recall"] == 1.0
    assert llm["judge_correctness"] == 4.5 and llm["judge_pass"] == 1.0
    assert answers["extractive"]["judge_correctness"] == 4.5
    judged = [r for r in fake.requests if JUDGE_MARK in json.dumps(r.body)]
    assert len(judged) == 4  # two questions, two answerers


def test_judge_failure_is_an_llm_error(corpus_store: Settings, tmp_path: Path) -> None:
    with FakeOpenAI(default=Status(401)) as server:
        settings = corpus_store.model_copy(update={"openai_base_url": server.base_url, "llm_max_retries": 0})
        gold = small_gold(tmp_path)
        with pytest.raises(LLMError, match="judge failed"):
            Evaluator(settings, Store(settings)).run(load_gold(gold), gold, modes=["extractive"], judge=True)
