"""The eval's splits, its multi-turn conversations and its paraphrase consistency.

A split is a gold file (dev: eval/gold.jsonl, test: eval/test.jsonl) with that split's conversations
(eval/conversations.jsonl) and, for dev, two rewordings of every question (eval/paraphrases.jsonl).
A conversation is asked turn by turn through `QA.ask(question, history=...)`, the history holding
the earlier questions and the system's own earlier answers. A question, turn or rewording is *right*
when it is answerable and answered (not refused) with every must-include group, or unanswerable and
refused. eval/README.md explains every number.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qa.answer.chat import Message
from qa.errors import BadInput
from qa.evaluation.evaluate import (
    EvalReport,
    Evaluator,
    GoldItem,
    Log,
    Metrics,
    Outcome,
    QuestionResult,
    load_gold,
    mean,
    missing_groups,
    open_store,
    read_rows,
)
from qa.evaluation.judge import require_llm
from qa.settings import Settings

SPLITS = ("dev", "test")
SPLIT_FILES = {"dev": "gold.jsonl", "test": "test.jsonl"}
CONVERSATIONS_FILE = "conversations.jsonl"
PARAPHRASES_FILE = "paraphrases.jsonl"
PARAPHRASE_SPLIT = "dev"  # the split whose questions have rewordings



# --- the verdict --------------------------------------------------------------------------------
def is_right(answerable: bool, must_include: Sequence[Sequence[str]], outcome: Outcome) -> bool:
    """Answerable: answered with every must-include group; unanswerable: refused.

    >>> is_right(True, [["119"]], Outcome("119 languages", False, [], 0, 0.1))
    True
    >>> is_right(False, [], Outcome("119 languages", False, [], 0, 0.1))
    False
    """
    return wrong_because(answerable, must_include, outcome) is None


def wrong_because(answerable: bool, must_include: Sequence[Sequence[str]], outcome: Outcome) -> str | None:
    """Why an answer is wrong, in a few words and the start of the answer; None when it is right."""
    said = f"answer: {' '.join(outcome.answer.split())[:160]}"
    if answerable and outcome.refused:
        return "refused an answerable question"
    if not answerable:
        return None if outcome.refused else f"answered an unanswerable question; {said}"
    lost = missing_groups(outcome.answer, must_include)
    return f"lacks {' / '.join('|'.join(g) for g in lost)}; {said}" if lost else None


# --- the data -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Turn:
    """One question of a conversation, scored like a gold question."""

    question: str
    answer: str
    must_include: list[list[str]]
    gold_keys: list[str]
    answerable: bool


@dataclass(frozen=True)
class Conversation:
    """A short conversation of a split (a line of eval/conversations.jsonl)."""

    id: str
    split: str
    turns: list[Turn]


@dataclass(frozen=True)
class Paraphrase:
    """Rewordings of one gold question (a line of eval/paraphrases.jsonl)."""

    id: str
    rewordings: list[str]


@dataclass(frozen=True)
class Split:
    """The questions, conversations and rewordings of one split."""

    name: str
    gold_path: Path
    gold: list[GoldItem]
    conversations: list[Conversation] = field(default_factory=list)
    paraphrases: list[Paraphrase] = field(default_factory=list)


def _conversation(row: dict[str, Any]) -> Conversation:
    return Conversation(row["id"], row["split"], [Turn(**turn) for turn in row["turns"]])


def _paraphrase(row: dict[str, Any]) -> Paraphrase:
    return Paraphrase(row["id"], [str(text) for text in row["rewordings"]])


def load_conversations(path: Path) -> list[Conversation]:
    """The conversations of a JSONL file; BadInput naming the first bad line."""
    return read_rows(path, "conversation", _conversation)


def load_paraphrases(path: Path) -> list[Paraphrase]:
    """The rewordings of a JSONL file; BadInput naming the first bad line."""
    return read_rows(path, "paraphrase", _paraphrase)


def load_splits(data: Path, which: str = "all") -> list[Split]:
    """The splits `which` (dev, test or all) from the data directory; a missing extra file means none."""
    names = SPLITS if which == "all" else (which,)
    if not set(names) <= set(SPLITS):
        raise BadInput(f"unknown split {which!r} (dev, test or all)")
    conversations = load_conversations(data / CONVERSATIONS_FILE) if (data / CONVERSATIONS_FILE).exists() else []
    paraphrases = load_paraphrases(data / PARAPHRASES_FILE) if (data / PARAPHRASES_FILE).exists() else []
    return [Split(name, data / SPLIT_FILES[name], load_gold(data / SPLIT_FILES[name]),
                  [c for c in conversations if c.split == name], paraphrases if name == PARAPHRASE_SPLIT else [])
            for name in names]


def gold_split(path: Path) -> Split:
    """One gold file as a split of its own, named after the file (no conversations, no rewordings)."""
    return Split(path.stem, path, load_gold(path))


# --- the runs -----------------------------------------------------------------------------------
@dataclass
class ConversationResult:
    """A conversation with each answerer's outcome of every turn."""

    conversation: Conversation
    outcomes: dict[str, list[Outcome]] = field(default_factory=dict)


@dataclass
class ParaphraseResult:
    """A gold question's result with each answerer's outcome of every rewording."""

    original: QuestionResult
    rewordings: list[str]
    outcomes: dict[str, list[Outcome]] = field(default_factory=dict)


def evaluate_splits(settings: Settings, splits: Sequence[Split], judge: bool = False, log: Log | None = None,
                    modes: Sequence[str] | None = None) -> list[EvalReport]:
    """Every split against the store of `settings` (filled from the bundled corpus if empty), one report each."""
    require_llm(settings, judge)
    evaluator = Evaluator(settings, open_store(settings, log), log)
    return [evaluate_split(evaluator, split, modes, judge) for split in splits]


def evaluate_split(evaluator: Evaluator, split: Split, modes: Sequence[str] | None = None,
                   judge: bool = False) -> EvalReport:
    """One split: its questions (as `Evaluator.run`), then its conversations and rewordings."""
    evaluator.log(f"{split.name} split: {len(split.gold)} questions, {len(split.conversations)} conversations")
    report = evaluator.run(split.gold, split.gold_path, modes, judge)
    report.split = split.name
    if split.conversations:
        start = time.perf_counter()
        report.conversations = run_conversations(evaluator, split.conversations, report.modes)
        report.seconds["conversations"] = time.perf_counter() - start
    if split.paraphrases:
        start = time.perf_counter()
        report.paraphrases = run_paraphrases(evaluator, report, split.paraphrases)
        report.seconds["paraphrases"] = time.perf_counter() - start
    return report


def run_conversations(evaluator: Evaluator, conversations: Sequence[Conversation],
                      modes: Sequence[str]) -> list[ConversationResult]:
    """Every conversation, turn by turn, with each answerer."""
    results = [ConversationResult(c) for c in conversations]
    turns = sum(len(c.turns) for c in conversations)
    for mode in modes:
        evaluator.log(f"conversations ({mode}): {len(results)} conversations, {turns} turns")
        for r in results:
            r.outcomes[mode] = converse(evaluator, r.conversation, mode)
    return results


def converse(evaluator: Evaluator, conversation: Conversation, mode: str) -> list[Outcome]:
    """The outcome of each turn; the history holds the earlier questions and the answers given to them."""
    history: list[Message] = []
    outcomes = []
    for turn in conversation.turns:
        outcome = evaluator.outcome(turn.question, mode, history)
        outcomes.append(outcome)
        history += [{"role": "user", "content": turn.question}, {"role": "assistant", "content": outcome.answer}]
    return outcomes


def run_paraphrases(evaluator: Evaluator, report: EvalReport,
                    paraphrases: Sequence[Paraphrase]) -> list[ParaphraseResult]:
    """Each answerer's outcome of every rewording of the report's questions (originals are in the report)."""
    by_id = {r.item.id: r for r in report.results}
    results = [ParaphraseResult(by_id[p.id], p.rewordings) for p in paraphrases if p.id in by_id]
    for mode in report.modes:
        evaluator.log(f"paraphrases ({mode}): {sum(len(r.rewordings) for r in results)} rewordings")
        for r in results:
            r.outcomes[mode] = [evaluator.outcome(text, mode) for text in r.rewordings]
    return results


# --- the figures --------------------------------------------------------------------------------
def turn_verdicts(result: ConversationResult, mode: str) -> list[bool]:
    """Right or wrong, per turn of one conversation."""
    turns = result.conversation.turns
    return [is_right(t.answerable, t.must_include, o) for t, o in zip(turns, result.outcomes[mode], strict=True)]


def conversation_summary(results: Sequence[ConversationResult], mode: str) -> Metrics:
    """Counts, and the share of turns, whole conversations and follow-ups right; unanswerable turns refused."""
    scored = [r for r in results if mode in r.outcomes]
    verdicts = [turn_verdicts(r, mode) for r in scored]
    every = [float(v) for vs in verdicts for v in vs]
    follow_ups = [float(v) for vs in verdicts for v in vs[1:]]
    refused = [float(o.refused) for r in scored
               for t, o in zip(r.conversation.turns, r.outcomes[mode], strict=True) if not t.answerable]
    return {"conversations": len(scored), "turns": len(every), "follow_ups": len(follow_ups),
            "unanswerable_turns": len(refused), "turn_accuracy": mean(every),
            "conversation_accuracy": mean(float(all(vs)) for vs in verdicts),
            "follow_up_accuracy": mean(follow_ups), "refusal_recall": mean(refused) if refused else 1.0}


def paraphrase_verdicts(result: ParaphraseResult, mode: str) -> list[bool]:
    """Right or wrong: the original question first, then each rewording."""
    item = result.original.item
    outcomes = [result.original.outcomes[mode], *result.outcomes[mode]]
    return [is_right(item.answerable, item.must_include, o) for o in outcomes]


def paraphrase_summary(results: Sequence[ParaphraseResult], mode: str) -> Metrics:
    """How often a question and its rewordings all get the same verdict, and the share right of each."""
    verdicts = [paraphrase_verdicts(r, mode) for r in results if mode in r.outcomes]
    reworded = [float(v) for vs in verdicts for v in vs[1:]]
    return {"questions": len(verdicts), "rewordings": len(reworded),
            "consistent": mean(float(len(set(vs)) == 1) for vs in verdicts),
            "right_original": mean(float(vs[0]) for vs in verdicts), "right_reworded": mean(reworded)}
