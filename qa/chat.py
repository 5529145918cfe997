"""Conversations: a follow-up question is rewritten into a standalone one from the history.

Without an LLM a heuristic does it: a question that leans on what came before (a pronoun, "and
...", "what about ...", or no subject of its own) gets the subject of the previous question added.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TypedDict


class Message(TypedDict):
    """One turn of a conversation, as Gradio and the HTTP API pass it."""

    role: str  # "user" | "assistant"
    content: str


_FOLLOW_UP_RE = re.compile(
    r"^\s*(and|also|what about|how about|then|so)\b|\b(it|its|it's|they|them|their|this|that|these|those|"
    r"the model|the paper|the same|he|she|his|her)\b",
    re.IGNORECASE,
)
# A subject: a capitalised or alphanumeric name (Qwen3, CodeElo, MMLU, GPT-4o) or an arXiv ID.
_SUBJECT_RE = re.compile(r"\b(?:arXiv:\s*)?\d{4}\.\d{4,5}\b|\b[A-Z][\w.\-]*[A-Z0-9][\w.\-]*\b|\b[A-Z][a-z]+[\w\-]*\b")
_QUESTION_WORDS = {"What", "Which", "How", "Who", "When", "Where", "Why", "Does", "Do", "Is", "Are", "Can", "And",
                   "Also", "Tell", "List", "Name", "Give", "In", "The", "A", "An", "Then", "So"}


def subjects(text: str) -> list[str]:
    """Names in `text` that can carry the topic of a conversation."""
    return [m for m in dict.fromkeys(_SUBJECT_RE.findall(text)) if m not in _QUESTION_WORDS]


def needs_context(question: str) -> bool:
    """Does the question lean on earlier turns?"""
    return bool(_FOLLOW_UP_RE.search(question)) or not subjects(question)


def standalone_question(question: str, history: Sequence[Message]) -> str:
    """The question made standalone by the heuristic (unchanged when it already is, or has no history)."""
    earlier = [m["content"] for m in history if m.get("role") == "user" and m.get("content")]
    if not earlier or not needs_context(question):
        return question
    for previous in reversed(earlier):
        topic = subjects(previous)
        if topic:
            return f"{question.rstrip()} (regarding {' '.join(topic)})"
    return question
