"""Which paper a name in a question means, and what an acronym stands for.

A name belongs to the paper that is about it: the paper whose label it is, else the paper that
uses it most. Siblings whose names extend it are other papers: "Qwen2.5" is not "Qwen2.5-Coder",
"Qwen3" is not "Qwen3 Embedding". A family name ("Qwen") covers every paper whose name starts
with it ("Qwen2.5-1M"), for questions that list papers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from qa.papers import NAMELIKE_RE, namelike, paper_label


def mentions(text: str, name: str) -> bool:
    """Does `text` name `name` as a whole word ("Qwen2.5" is not in "Qwen2.5-Math")?"""
    return count_mentions(text, name) > 0


def name_pattern(name: str) -> str:
    """A regex for `name` as a whole word, however its parts are joined: "Llama 3" is also "Llama-3" and
    "Llama3"; "Qwen2.5-Coder" is also "Qwen2.5 coder" (matched without regard to case)."""
    joined = r"[\s\-]?".join(re.escape(part) for part in re.split(r"[\s\-]+", name) if part)
    return rf"(?<![\w.\-]){joined}(?![\w\-]|\.\w)"


def count_mentions(text: str, name: str) -> int:
    """How often `text` names `name` as a whole word."""
    return len(re.findall(name_pattern(name), text, re.IGNORECASE))


def names(text: str, name: str) -> bool:
    """Does `text` name `name`, or an edition or size of it ("AIME24", "AIME'25", "Qwen2.5-VL-72B-Instruct"),
    not a sibling ("GPT-4o-mini" is not "GPT-4o")?"""
    edition = r"(?:\d+|['\u2019]\d+|-\d+(?:\.\d+)?[BMK]\b(?:-[A-Za-z0-9]+)*)?"
    return re.search(rf"(?<![\w.\-]){re.escape(name)}{edition}(?![\w\-]|\.\w)", text, re.IGNORECASE) is not None


def _same(a: str, b: str) -> bool:
    """Names equal up to case, spaces and hyphens ("Qwen2-VL" = "qwen2 vl")."""
    return re.sub(r"[\s\-]", "", a).lower() == re.sub(r"[\s\-]", "", b).lower()


def owner(name: str, papers: Mapping[str, str], labels: Mapping[str, str | None]) -> str | None:
    """The key of the paper `name` means among `papers` (key -> abstract), or None when none is about it.

    A paper is about a name when the name is its label, when it introduces the name, and the more it
    uses it (as itself, and less as the start of longer names: "Qwen2.5-Math" in "Qwen2.5-Math-Instruct").
    The paper must be clearly ahead of every other.

    >>> papers = {"a": "We present Qwen2.5. Qwen2.5 is strong.", "b": "Qwen2.5-Coder builds on Qwen2.5. Qwen2.5-Coder!"}
    >>> owner("Qwen2.5", papers, {"a": "Qwen2.5", "b": "Qwen2.5-Coder"}), owner("Qwen2.5-Coder", papers, {})
    ('a', 'b')
    """
    scores = sorted(((_aboutness(name, text, labels.get(key)), key) for key, text in papers.items()), reverse=True)
    if not scores or scores[0][0] < 2:  # named once in passing: not what the paper is about
        return None
    if len(scores) > 1 and scores[1][0] >= scores[0][0] - 0.5:
        return None  # used as much by two papers: a shared term, not one paper's name
    return scores[0][1]


def _aboutness(name: str, text: str, label: str | None) -> float:
    own = paper_label(text)
    if own and not _same(own, name) and re.match(rf"{re.escape(name)}[\s\-]\w", own, re.IGNORECASE):
        return 0.0  # a sibling: the paper introduces a longer name ("Qwen3 Embedding" is not about "Qwen3")
    exact = count_mentions(text, name)
    # Longer names of the same thing ("Qwen2.5-Math-Instruct" for "Qwen2.5-Math"), not later versions:
    # "Qwen2.5" is not a longer "Qwen2".
    longer = len(re.findall(rf"(?<![\w.\-]){re.escape(name)}-\w", text, re.IGNORECASE))
    introduced = re.search(rf"\b(?:introduce|present|propose)s?\b[^.]{{0,80}}(?<![\w.\-]){re.escape(name)}(?![\w\-])",
                           text, re.IGNORECASE) is not None
    labelled = bool(label and _same(label, name))
    if not exact and not labelled:
        return 0.0  # only longer names: a sibling ("Qwen2-VL" for "Qwen2"), not a paper about the name
    return 3.0 * labelled + 2.0 * introduced + exact + 0.5 * longer


def family(word: str, papers: Mapping[str, str], labels: Mapping[str, str | None]) -> list[str]:
    """Keys of the papers whose label, or a name they introduce, starts with `word` ("Qwen" -> Qwen2.5-1M...)."""
    low = word.lower()
    out = []
    for key, text in papers.items():
        label = labels.get(key) or ""
        names = [label, *(n for n in NAMELIKE_RE.findall(text[:400]) if n[0].isupper())]
        if any((n.lower().startswith(low) and namelike(n)) or n.lower() == low for n in names if n):
            out.append(key)
    return out


def expansion(acronym: str, text: str) -> str | None:
    """What `acronym` stands for in `text`: the words beside it whose initials spell it.

    >>> expansion("GSPO", "This paper introduces Group Sequence Policy Optimization (GSPO), our algorithm.")
    'Group Sequence Policy Optimization'
    >>> expansion("RLVR", "Reinforcement Learning with Verifiable Rewards (RLVR) has emerged")
    'Reinforcement Learning with Verifiable Rewards'
    >>> expansion("MARGE", "we propose MARGE: Improving Math Reasoning with Guided Exploration, a method")
    'Math Reasoning with Guided Exploration'
    >>> expansion("MTR", "we present MTR-Bench for LLMs' Multi-Turn Reasoning evaluation.")
    'Multi-Turn Reasoning'
    >>> expansion("WorldPM", "We propose World Preference Modeling (WorldPM) to emphasize this")
    'World Preference Modeling'
    """
    for m in re.finditer(rf"\(\s*{re.escape(acronym)}s?\s*\)", text):
        words = re.findall(r"[\w\-]+", text[max(0, m.start() - 200):m.start()])
        for n in range(1, min(len(words), 12) + 1):
            if _spells(acronym, words[-n:]):
                return " ".join(words[-n:])
    for m in re.finditer(rf"(?<![\w\-]){re.escape(acronym)}\s*(?::|\(|,|-{{1,2}}|\u2014)\s*", text):
        words = re.findall(r"[\w\-]+", text[m.end():m.end() + 200])[:14]
        for start in range(min(len(words), 3)):
            for end in range(start + 1, len(words) + 1):
                if _spells(acronym, words[start:end]):
                    return " ".join(words[start:end])
    if re.search(rf"(?<![\w\-]){re.escape(acronym)}", text):  # "MTR-Bench for LLMs' Multi-Turn Reasoning evaluation"
        for m in re.finditer(r"(?<![\w\-])[A-Z][\w\-]*", text):
            words = re.findall(r"[\w\-]+", text[m.start():m.start() + 200])[:8]
            capitalised = [w for w in words if w[0].isupper() or w.lower() in _SMALL]
            for end in range(len(capitalised), 1, -1):
                if words[:end] == capitalised[:end] and _spells(acronym, words[:end]) and words[0] != acronym:
                    return " ".join(words[:end])
    return None


_SMALL = {"of", "with", "for", "and", "the", "a", "an", "to", "in", "on", "by", "via"}


def _spells(acronym: str, words: list[str]) -> bool:
    """Do the initials of `words` (small words optional, hyphenated parts counted) spell `acronym`?"""
    if not words or words[0].lower() in _SMALL:
        return False
    target = acronym.lower().rstrip("s") if len(acronym) > 2 else acronym.lower()

    def match(i: int, j: int) -> bool:
        if j == len(target):
            return i == len(words)
        if i == len(words):
            return False
        w = words[i].lower()
        parts = [p for p in w.split("-") if p]
        if w in _SMALL and match(i + 1, j):
            return True
        # A word gives its initial, the initials of its hyphenated parts, a short prefix (MoE, RoPE), or
        # itself (WorldPM: World Preference Modeling).
        for take in {parts[0][:k] for k in range(1, min(4, len(parts[0])) + 1)} | {"".join(p[0] for p in parts),
                                                                                   parts[0]}:
            if target.startswith(take, j) and match(i + 1, j + len(take)):
                return True
        return False

    return match(0, 0)
