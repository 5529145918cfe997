"""The library API: `qa.ask` and `qa.stream` over the bundled corpus, one warm engine per settings."""

from __future__ import annotations

import subprocess
import sys

import pytest

import qa
import qa.answer.engine  # importing the engine module must not shadow the `qa.ask` function
from qa.settings import Settings
from qa.types import Answer


def test_ask_answers_with_a_checked_citation(corpus_store: Settings) -> None:
    answer = qa.ask("How many languages does Qwen3 support?", settings=corpus_store)
    assert isinstance(answer, Answer) and not answer.refused
    assert "119" in answer.answer and [c.key for c in answer.citations] == ["arXiv:2505.09388"]


def test_follow_up_uses_the_history(corpus_store: Settings) -> None:
    history = [{"role": "user", "content": "What is the Qwen3 Embedding series?"},
               {"role": "assistant", "content": "A series of text embedding models. [arXiv:2506.05176]"}]
    answer = qa.ask("What model sizes does it come in?", history, settings=corpus_store)
    assert "0.6B" in answer.answer and "arXiv:2506.05176" in [c.key for c in answer.citations]
    assert answer.standalone_question and "Qwen3 Embedding" in answer.standalone_question


def test_stream_yields_text_then_the_answer(corpus_store: Settings) -> None:
    items = list(qa.stream("What is GSPO?", settings=corpus_store, k=4))
    assert isinstance(items[-1], Answer) and all(isinstance(i, str) for i in items[:-1]) and items[:-1]
    assert "arXiv:2507.18071" in [c.key for c in items[-1].citations]


def test_one_warm_engine_per_settings(corpus_store: Settings) -> None:
    assert qa.get_engine(corpus_store) is qa.get_engine(corpus_store.model_copy())
    assert qa.get_engine(corpus_store) is not qa.get_engine(corpus_store.model_copy(update={"top_k": 3}))


@pytest.mark.slow
def test_ask_from_a_new_process_reads_the_environment(corpus_store: Settings) -> None:
    code = "import qa; a = qa.ask('What does arXiv:2506.01939 find?'); print(a.citations[0].key)"
    env = {"ARXIV_QA_STORE": str(corpus_store.store), "ARXIV_QA_MODEL_CACHE": str(corpus_store.model_cache),
           "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "arXiv:2506.01939"
