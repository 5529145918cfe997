"""Follow-up questions made standalone without an LLM."""

from __future__ import annotations

import pytest

from qa.answer.chat import needs_context, standalone_question

HISTORY = [{"role": "user", "content": "What is the Qwen3 Embedding series?"},
           {"role": "assistant", "content": "Text embedding models [arXiv:2506.05176]."}]


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("and what sizes does it come in?", "and what sizes does it come in? (regarding Qwen3 Embedding)"),
        ("What about its license?", "What about its license? (regarding Qwen3 Embedding)"),
        ("How many languages does PolyMath cover?", "How many languages does PolyMath cover?"),
    ],
)
def test_standalone_question(question: str, expected: str) -> None:
    assert standalone_question(question, HISTORY) == expected


def test_no_history_means_no_rewrite() -> None:
    assert standalone_question("and what about it?", []) == "and what about it?"


def test_needs_context() -> None:
    assert needs_context("what sizes are there?") and not needs_context("What sizes does Qwen3 come in?")


def test_itself_points_at_the_questions_own_subject() -> None:
    """A reflexive is bound inside its sentence: "the X series itself" names X, it does not point back."""
    assert not needs_context("And what sizes does the Qwen3 series itself span?")
    assert not needs_context("How do GSPO and GRPO themselves differ?")
    assert needs_context("And what sizes does it span?")
    history = [{"role": "user", "content": "What is Qwen3 Embedding?"},
               {"role": "assistant", "content": "An embedding series. [arXiv:2506.05176]"}]
    assert standalone_question("What parameter range does Qwen3 itself span?", history) == \
        "What parameter range does Qwen3 itself span?"
