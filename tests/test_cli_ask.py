"""`arxiv-qa ask` as a user runs it: one question, --json, --batch, and bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from qa.settings import Settings
from tests.conftest import run_cli


@pytest.fixture(scope="module")
def store(corpus_store: Settings, tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("cli") / "store"
    shutil.copytree(corpus_store.store, copy)
    return copy


@pytest.mark.slow
def test_ask_prints_answer_and_sources(store: Path) -> None:
    done = run_cli("ask", "How many languages does Qwen3 support?", store=store)
    assert done.returncode == 0, done.stderr
    assert "119" in done.stdout and "https://arxiv.org/abs/2505.09388" in done.stdout and "Sources:" in done.stdout
    assert done.stderr == ""  # no library chatter on a successful answer


@pytest.mark.slow
def test_ask_json_uses_the_data_model_fields(store: Path) -> None:
    done = run_cli("ask", "What is arXiv:2506.01939 about?", "--json", "--k", "3", "--mode", "extractive", store=store)
    answer = json.loads(done.stdout)
    assert {"question", "answer", "refused", "mode", "citations", "passages", "timings"} <= set(answer)
    assert answer["mode"] == "extractive" and len(answer["passages"]) <= 3
    assert set(answer["citations"][0]) == {"key", "arxiv_id", "title", "url", "snippet", "title_guessed", "authors",
                                           "published", "updated", "versions", "categories", "doi", "journal_ref"}


@pytest.mark.slow
def test_batch_answers_every_line_with_its_id_in_one_process(store: Path, tmp_path: Path) -> None:
    batch = tmp_path / "q.jsonl"
    batch.write_text("\n".join(json.dumps(q) for q in [
        {"id": "a", "question": "How many languages does Qwen3 support?"},
        {"id": 7, "question": "Which paper predicts protein folding?"},
        {"id": "c", "question": "What is arXiv:2408.15262 about?"}]) + "\n")
    done = run_cli("ask", "--batch", str(batch), "--json", store=store)
    assert done.returncode == 0, done.stderr
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert [a["id"] for a in answers] == ["a", 7, "c"]
    assert [a["refused"] for a in answers] == [False, True, True]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ask", ""], "the question is empty"),
        (["ask", "x" * 3000], "longer than 2000"),
        (["ask", "What is Qwen3?", "--mode", "llm"], "OPENAI_API_KEY"),
        (["ask"], "give a QUESTION or --batch"),
        (["ask", "Q?", "--k", "0"], "--k"),
    ],
)
@pytest.mark.slow
def test_bad_input_is_one_line_and_exit_2(store: Path, args: list[str], message: str) -> None:
    done = run_cli(*args, store=store)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr


@pytest.mark.slow
def test_bad_batch_line_is_named(store: Path, tmp_path: Path) -> None:
    batch = tmp_path / "bad.jsonl"
    batch.write_text('{"id": 1, "question": "ok?"}\nnot json\n')
    done = run_cli("ask", "--batch", str(batch), "--json", store=store)
    assert done.returncode == 2 and "line 2 is not JSON" in done.stderr


@pytest.mark.slow
def test_empty_store_says_to_ingest(tmp_path: Path) -> None:
    done = run_cli("ask", "What is Qwen3?", store=tmp_path / "nothing")
    assert done.returncode == 2 and "arxiv-qa ingest" in done.stderr
