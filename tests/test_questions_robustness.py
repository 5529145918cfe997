"""Odd questions: other languages, control characters, markup, punctuation only — answered or
refused, never a crash; and planted secrets never reach output, errors or Answer JSON."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from pydantic import SecretStr

from qa.answer.engine import QA
from qa.index.store import Store
from qa.settings import Settings
from tests.conftest import run_cli
from tests.fakes.openai_server import FakeOpenAI, Reply

ODD = [
    "Qwen3 支持多少种语言\uff1f",
    "كم عدد اللغات التي يدعمها Qwen3؟",
    "Сколько языков поддерживает Qwen3?",
    "¿Cuántos idiomas admite Qwen3?",
    "🤖🤖🤖 ???",
    "?!.,;:",
    "What\u200b is\u200d Qwen3\ufeff?",
    "What is Qwen3?\x00\x1b[31m\x07",
    "<script>alert(1)</script> What is GSPO?",
    "'; DROP TABLE papers; -- what is GSPO?",
    "a" * 1999,
    "supercalifragilisticexpialidocious" * 20,
    "arXiv:0000.00000 arXiv:9999.99999v9",
    "papers from Smarch 2025",
]


@pytest.fixture(scope="module")
def qa(corpus_store: Settings) -> QA:
    return QA(corpus_store, Store(corpus_store))


@pytest.mark.parametrize("question", ODD)
def test_odd_questions_are_answered_or_refused(qa: QA, question: str) -> None:
    answer = qa.ask(question)
    assert isinstance(answer.answer, str) and answer.answer
    assert answer.fabricated_citations == 0
    assert {c.key for c in answer.citations} <= {p.chunk.doc_key for p in answer.passages}
    assert "\x00" not in answer.question and "\x1b" not in answer.question
    json.dumps(answer.to_dict())


def test_a_question_in_another_language_still_finds_the_paper(qa: QA) -> None:
    answer = qa.ask("Qwen3 支持多少种语言\uff1f")
    assert any(p.chunk.doc_key == "arXiv:2505.09388" for p in answer.passages)


def test_stats_of_the_store_survive_all_of_them(qa: QA) -> None:
    assert qa.store.stats()["papers"] == 27  # nothing asked changed the store


SECRET_KEY = "sk-planted-secret-1f2e3d"
SECRET_SLACK = "xoxb-planted-secret-9a8b"


@pytest.mark.slow
def test_planted_secrets_never_reach_output_or_errors(corpus_store: Settings, tmp_path: Path) -> None:
    store = tmp_path / "store"
    shutil.copytree(corpus_store.store, store)
    with FakeOpenAI(require_key="sk-the-right-one") as fake:
        env = {"OPENAI_API_KEY": SECRET_KEY, "OPENAI_BASE_URL": fake.base_url, "SLACK_BOT_TOKEN": SECRET_SLACK,
               "ARXIV_QA_LLM_MAX_RETRIES": "0"}
        runs = [run_cli("ask", "What is Qwen3?", "--mode", "llm", "--json", store=store, env=env),
                run_cli("ask", "What is Qwen3?", "--json", store=store, env=env),  # auto: falls back
                run_cli("stats", "--json", store=store, env=env),
                run_cli("ingest", str(tmp_path / "missing.txt"), store=store, env=env)]
    failed, fallback = runs[0], json.loads(runs[1].stdout)
    assert failed.returncode == 1 and "rejected the API key (401)" in failed.stderr
    assert fallback["mode"] == "extractive" and fallback["warnings"]
    for done in runs:
        for secret in (SECRET_KEY, SECRET_SLACK):
            assert secret not in done.stdout and secret not in done.stderr


def test_secrets_are_not_in_the_answer_json_even_if_a_model_echoes_them(corpus_store: Settings) -> None:
    with FakeOpenAI() as fake:
        fake.script = [Reply(f"Qwen3 supports 119 languages [arXiv:2505.09388]. Key: {SECRET_KEY}")]
        settings = corpus_store.model_copy(update={"openai_base_url": fake.base_url,
                                                   "openai_api_key": SecretStr(SECRET_KEY)})
        answer = QA(settings, Store(corpus_store)).ask("How many languages does Qwen3 support?")
    assert SECRET_KEY not in json.dumps(answer.to_dict())


def test_redactor_catches_a_secret_split_across_stream_pieces() -> None:
    from qa.answer.llm import Redactor

    redactor = Redactor([SECRET_KEY])
    pieces = ["The key is sk-plan", "ted-secr", "et-1f2e3d and more", " text."]
    shown = "".join(redactor.feed(p) for p in pieces) + redactor.flush()
    assert shown == "The key is [redacted] and more text." and SECRET_KEY not in shown
