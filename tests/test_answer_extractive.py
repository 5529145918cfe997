"""The extractive answerer on the bundled corpus: cited answers, honest refusals, filters, doc keys."""

from __future__ import annotations

import pytest

from qa.answer.engine import QA
from qa.answer.extractive import split_sentences
from qa.index.store import Store
from qa.settings import Settings
from qa.types import REFUSAL


@pytest.fixture(scope="module")
def qa(corpus_store: Settings) -> QA:
    return QA(corpus_store, Store(corpus_store))


ANSWERABLE = [
    ("What model sizes does the Qwen3 Embedding series come in?", "arXiv:2506.05176", ["0.6B", "4B", "8B"]),
    ("How many languages and dialects does Qwen3 support?", "arXiv:2505.09388", ["119"]),
    ("What MMLU and HumanEval scores does the Qwen2-72B base model reach?", "arXiv:2407.10671", ["84.2", "64.6"]),
    ("Which paper introduces the Thinker-Talker architecture?", "arXiv:2503.20215", ["Thinker-Talker"]),
    ("What is Group Sequence Policy Optimization?", "arXiv:2507.18071", ["GSPO"]),
    ("How much data was used to pretrain Qwen2.5-Coder?", "arXiv:2409.12186", ["5.5 trillion"]),
    ("What context length do the Qwen2.5-1M models reach?", "arXiv:2501.15383", ["1 million"]),
    ("Which benchmark rates LLMs on competition-level code with Elo ratings?", "arXiv:2501.01257", ["CodeElo"]),
    ("How many characters and dialogue rounds does RMTBench include?", "arXiv:2507.20352", ["80", "8,000"]),
    ("What does Qwen-Image do well?", "arXiv:2508.02324", ["exceptionally well"]),
    ("What is the role of high-entropy tokens in RLVR?", "arXiv:2506.01939", ["entropy"]),
    ("What does the SIMD permutation toolkit generate?", "arXiv:2506.03686", ["permutation"]),
]


@pytest.mark.parametrize(("question", "key", "facts"), ANSWERABLE)
def test_answers_cite_the_paper_that_says_it(qa: QA, question: str, key: str, facts: list[str]) -> None:
    answer = qa.ask(question)
    assert not answer.refused and answer.mode == "extractive"
    assert f"[{key}]" in answer.answer
    assert key in [c.key for c in answer.citations]
    for fact in facts:
        assert fact.lower() in answer.answer.lower()
    cited = next(c for c in answer.citations if c.key == key)
    assert cited.url == f"https://arxiv.org/abs/{key.split(':')[1]}"
    assert all(f"{sentence} [{key}]" in answer.answer for sentence in split_sentences(cited.snippet))
    retrieved = {p.chunk.doc_key for p in answer.passages}
    assert {c.key for c in answer.citations} <= retrieved  # every citation names a retrieved passage
    assert answer.fabricated_citations == 0


@pytest.mark.parametrize(
    "question",
    [
        "Which paper in the corpus predicts protein folding structures?",
        "What do the papers say about quantum error correction?",
        "Which paper uses diffusion models for weather forecasting?",
    ],
)
def test_absent_topics_are_refused(qa: QA, question: str) -> None:
    answer = qa.ask(question)
    assert answer.refused and answer.answer == REFUSAL and not answer.citations


@pytest.mark.parametrize(
    "question",
    [
        "What learning rate was used to train Qwen3?",
        "How many GPUs were used to train Qwen2.5-VL?",
        "What batch size was used to train WorldPM?",
        "What Elo rating does GPT-4o reach on CodeElo?",
        "What vocabulary size does the Qwen2 tokenizer use?",
    ],
)
def test_details_a_present_abstract_does_not_give_are_refused(qa: QA, question: str) -> None:
    assert qa.ask(question).refused


def test_id_in_question_pins_that_paper(qa: QA) -> None:
    answer = qa.ask("What does arXiv:2506.01939 find?")
    assert not answer.refused
    assert {p.chunk.doc_key for p in answer.passages} == {"arXiv:2506.01939"}
    assert [c.key for c in answer.citations] == ["arXiv:2506.01939"]
    assert "entropy" in answer.answer


def test_id_only_named_in_an_admin_note_is_not_in_the_corpus(qa: QA) -> None:
    answer = qa.ask("What is arXiv:2408.15262 about?")
    assert answer.refused and not answer.passages and not answer.citations
    assert "not in the corpus" in answer.answer and "arXiv:2409.12191" in answer.answer


def test_date_scoped_question_only_uses_that_month(qa: QA) -> None:
    answer = qa.ask("Which papers from January 2025 are about long context?")
    assert not answer.refused
    assert {p.chunk.doc_key for p in answer.passages} <= {"arXiv:2501.15383", "arXiv:2501.01257"}
    assert "arXiv:2501.15383" in [c.key for c in answer.citations]


def test_explicit_month_range_overrides(qa: QA) -> None:
    answer = qa.ask("Which papers are about reinforcement learning?", months=(202507, 202507))
    assert {p.chunk.arxiv_id for p in answer.passages} <= {"2507.18071", "2507.20352"}


def test_paper_without_id_is_cited_by_its_doc_key_and_never_given_an_id(qa: QA) -> None:
    answer = qa.ask("How many languages does PolyMath cover?")
    assert not answer.refused
    (citation,) = [c for c in answer.citations if c.key.startswith("doc:")]
    assert citation.arxiv_id is None and citation.url is None
    assert "18 languages" in answer.answer and f"[{citation.key}]" in answer.answer
    assert "arXiv:" not in answer.answer.split("PolyMath")[0] or "[arXiv:" not in answer.answer


def test_variants_that_disagree_are_both_given(qa: QA) -> None:
    answer = qa.ask("According to CodeElo, where do most LLMs place among human participants?")
    assert not answer.refused
    assert "disagree" in answer.answer and "20 percent" in answer.answer and "25 percent" in answer.answer


def test_which_papers_question_lists_several_cited_papers(qa: QA) -> None:
    answer = qa.ask("Which papers focus on the mathematical reasoning of LLMs?")
    assert len(answer.citations) >= 2 and answer.answer.count("\n- ") >= 2


def test_timings_are_reported_per_stage(qa: QA) -> None:
    answer = qa.ask("What is Qwen3?")
    assert {"rewrite", "bm25", "embed_query", "dense", "answer", "total"} <= set(answer.timings)
    assert answer.timings["total"] >= answer.timings["answer"] > 0


def test_follow_up_uses_the_conversation(qa: QA) -> None:
    history = [{"role": "user", "content": "What is the Qwen3 Embedding series?"},
               {"role": "assistant", "content": "An embedding model series [arXiv:2506.05176]."}]
    answer = qa.ask("and what sizes does it come in?", history=history)
    assert answer.standalone_question and "Qwen3" in answer.standalone_question
    assert "arXiv:2506.05176" in [c.key for c in answer.citations] and "0.6B" in answer.answer


@pytest.mark.parametrize(("question", "why"), [("", "empty"), ("   \x00\x07 ", "empty"), ("x" * 2001, "longer")])
def test_bad_questions_are_bad_input(qa: QA, question: str, why: str) -> None:
    from qa.errors import BadInput

    with pytest.raises(BadInput, match=why):
        qa.ask(question)


def test_mode_llm_without_endpoint_is_bad_input(qa: QA) -> None:
    from qa.errors import BadInput

    with pytest.raises(BadInput, match="OPENAI"):
        qa.ask("What is Qwen3?", mode="llm")
