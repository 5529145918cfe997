"""Conversations: a follow-up question is rewritten into a standalone one from the history.

Without an LLM a heuristic does it, and only when the question needs it: it leans on what came before
(a pronoun, "and ...", "what about ...") or has no subject of its own. The subject comes from the last
*answered* turn (a refused turn has none to give): the paper that answer cited, named as specifically
as it was discussed ("Qwen2.5", not a sibling "Qwen2.5-Coder"). A question that names a subject of
its own, or says it changes the topic, is left as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TypedDict

from qa.answer.question import MONTHS, TOPIC_CHANGE, asks, describes_paper, without_lead_in


class Message(TypedDict):
    """One turn of a conversation, as Gradio and the HTTP API pass it."""

    role: str  # "user" | "assistant"
    content: str


# (an answered question, the keys its answer cited) -> the subject the turn was about
Topic = Callable[[str, list[str]], "str | None"]

_LEAD_RE = re.compile(r"^\s*(and|also|what about|how about|then|so|same)\b", re.IGNORECASE)
_PRONOUN_RE = re.compile(
    r"\b(it|its|it's|itself|themselves|they|them|their|theirs|this|that|these|those|the model|the models|the paper|"
    r"the method|the benchmark|the same|he|she|his|her)\b",
    re.IGNORECASE,
)
_REFLEXIVES = {"itself", "themselves"}
_SWITCH_RE = re.compile(rf"^\s*(?:{TOPIC_CHANGE}|now)\b[^:?]*?(?:to|about|:|\u2014|\u2013|\s-+)\s", re.IGNORECASE)
# A subject: a capitalised or alphanumeric name (Qwen3, CodeElo, MMLU, GPT-4o) or an arXiv ID.
_SUBJECT_RE = re.compile(r"\b(?:arXiv:\s*)?\d{4}\.\d{4,5}\b|\b[A-Z][\w.\-]*[A-Z0-9][\w.\-]*\b|\b[A-Z][a-z]+[\w\-]*\b")
_QUESTION_WORDS = {"What", "Which", "How", "Who", "When", "Where", "Why", "Does", "Do", "Is", "Are", "Can", "And",
                   "Also", "Tell", "List", "Name", "Give", "In", "The", "A", "An", "Then", "So", "Same", "Did", "Was",
                   "Were", "Has", "Have", "Could", "Would", "Should", "Will", "Compared", "Besides", "Apart", "For",
                   "On", "Of", "By", "With", "Any", "Its", "It", "They", "Their", "This", "That", "These", "Those",
                   "We", "Our", "My", "There", "Here", "Please", "Ok", "Okay", "But", "Now", "Yes", "No", "Sure",
                   "Thanks", "Anything", "Something", "Someone", "Anyone", "Instead", "Back", "Different", "Unrelated"}
_KEY_RE = re.compile(r"\b(arXiv:\d{4}\.\d{4,5}|arXiv:[a-z][a-z\-]+(?:\.[A-Z]{2})?/\d{7}|doc:[0-9a-f]{12})\b")
_REFUSED_RE = re.compile(r"do not answer this question|cannot answer this question|is not in the corpus",
                         re.IGNORECASE)


def subjects(text: str) -> list[str]:
    """Names in `text` that can carry the topic of a conversation (not the field's words for many things: "LLMs")."""
    return [m for m in dict.fromkeys(_SUBJECT_RE.findall(text))
            if m not in _QUESTION_WORDS and not _FIELD_WORD_RE.fullmatch(m)]


_FIELD_WORD_RE = re.compile(r"[A-Z]{2,}s")


def needs_context(question: str, known: Callable[[str], bool] | None = None) -> bool:
    """Does the question lean on earlier turns?

    `known` tells whether a name is some paper's own (a question naming one has its subject); without
    it, any name counts as a subject.
    """
    own = [s for s in subjects(question) if known is None or known(s)]
    switch = bool(own) and re.match(rf"\s*(?:what|how) about\s+(?:the\s+)?{re.escape(own[0])}\b", question, re.I)
    if _SWITCH_RE.search(question) or switch:
        return False
    pointing = [m for m in _PRONOUN_RE.finditer(question) if m.group().lower() not in _REFLEXIVES
                and not (m.group().lower() == "that" and _RELATIVE_RE.search(question[: m.start()]))]
    if _ASKS_PAPER_RE.match(without_lead_in(question)):  # "a paper that evaluates models like that one": another
        pointing = [m for m in pointing if not _LIKE_RE.search(question[: m.start()])]
    if own:  # a subject of its own, unless "it" points back ("itself" points at a name in the question)
        # "and the generation before, Qwen2: how many languages was it good at?": "it" is the name set before
        head = re.search(r"[:\u2014\u2013]|\s-+\s", question)
        if head and any(s in question[: head.start()] for s in own) and all(m.start() > head.start() for m in pointing):
            return False
        return bool(pointing)
    if describes_paper(question):  # "and the high-entropy token paper: what do they train on?": its own subject
        return False
    # "ok then, which paper is about judging spoken dialogue?": a paper asked for, by what it is about
    return bool(pointing) or not _ASKS_PAPER_RE.match(without_lead_in(question))


# "a paper that evaluates ...": "that" opens a clause about the noun before it, and points at nothing earlier
_RELATIVE_RE = re.compile(r"\b(?:papers?|works?|stud(?:y|ies)|models?|methods?|benchmarks?|systems?|approach(?:es)?|"
                          r"datasets?|articles?|anything|something|one|ones|research)\s+$", re.IGNORECASE)
_LIKE_RE = re.compile(r"\b(?:like|unlike|similar to|besides|other than|apart from|beyond|than)\s+(?:\w+\s+)?$",
                      re.IGNORECASE)
_ASKS_PAPER_RE = re.compile(r"\s*(?:(?:which|what)\s+(?:\w+\s+)?(?:papers?|works?|stud(?:y|ies)|articles?|reports?)|"
                            r"(?:is|are)\s+there\s+(?:a|an|any)\s+(?:\w+\s+)?(?:papers?|works?|stud(?:y|ies)|"
                            r"articles?))\b(?!\s+(?:of|from|by)\b)", re.IGNORECASE)


def _turns(history: Sequence[Message]) -> tuple[list[tuple[str, str]], str | None]:
    """The (question, answer) pairs of the history, and a last question left without an answer."""
    turns: list[tuple[str, str]] = []
    question: str | None = None
    for m in history:
        content = m.get("content") or ""
        if m.get("role") == "user":
            question = content
        elif m.get("role") == "assistant" and question is not None:
            turns.append((question, content))
            question = None
    return turns, question


def answered(answer: str) -> bool:
    """Is `answer` an answer with a citation, not a refusal?"""
    return not _REFUSED_RE.search(answer) and _KEY_RE.search(answer) is not None


def last_answered(history: Sequence[Message]) -> tuple[str, str] | None:
    """The last (question, answer) pair of the history whose answer was not a refusal."""
    turns, question = _turns(history)
    done = [t for t in turns if answered(t[1])]
    if done:
        return done[-1]
    if not turns and question is None:
        users = [m.get("content") or "" for m in history if m.get("role") == "user"]
        return (users[-1], "") if users else None
    return None


def topic_of(question: str, answer: str, topic: Topic | None) -> list[str]:
    """The subject a follow-up refers to: the cited paper as the question named it, else its label."""
    cited = list(dict.fromkeys(_KEY_RE.findall(answer)))
    found = topic(question, cited) if topic and cited else None
    return [found] if found else subjects(question)


MAX_TURNS = 8  # earlier turns read to resolve a follow-up (each is resolved as it was asked)

# "and the Coder one?", "what about Qwen2.5-VL?", "how about for Qwen3?": the last question, of another subject
# "and the Math one? which models does it include?", "and the VL version, what's new in it?": that sibling, asked
# "no, I meant the Coder one": the last question, of the subject meant
_ELLIPSIS_RE = re.compile(r"^\s*(?:and|what about|how about|(?:no|sorry)?[,.]?\s*i\s+meant)\s+(?:for\s+|in\s+)?"
                          r"(?:the\s+|its\s+|their\s+)?(?:(?:plain|base|original|vanilla|regular|standard)\s+)?"
                          r"(?P<name>[\w.\-]+(?:\s+[\w.\-]+)??)"
                          r"(?:\s+(?:one|model|models|version|variant|paper|series|sibling|counterpart))?"
                          r"\s*(?:[?,:;\u2014\u2013]\s*(?P<rest>.*\S)?)?\s*$",
                          re.IGNORECASE)
_ORDINALS = ["first", "second", "third", "fourth", "fifth"]
# "the second one", "the last paper", but not "the first paper to propose X" (a question of its own)
_ORDINAL_RE = re.compile(rf"\bthe\s+(?P<nth>{'|'.join(_ORDINALS)}|last)\s+(?:one|paper|result|item|abstract|match)\b"
                         r"(?!\s+(?:to|that|which|who|where|on|about|in|of)\b)", re.IGNORECASE)
# A model's name: a word with a digit or two capitals ("o1-mini", "GPT-4o", "QwQ")
_MODEL_NAME_RE = re.compile(r"(?<![\w.\-])(?=[\w.\-]*(?:\d|[A-Z][\w.\-]*[A-Z]))[A-Za-z][\w.\-]*\w")
_DATE_RE = re.compile(rf"\b{MONTHS}(?:\s+(?:19|20)\d\d)?\b|\b(?:19|20)\d\d\b", re.IGNORECASE)
_DATE_ELLIPSIS_RE = re.compile(rf"^\s*(?:and|what about|how about)\s+(?:in\s+|from\s+|for\s+)?"
                               rf"(?P<date>{MONTHS}(?:\s+(?:19|20)\d\d)?|(?:19|20)\d\d)\s*\??\s*$", re.IGNORECASE)
_OF_THOSE_RE = re.compile(r"\b(?:of|among|from)\s+(?:those|these|them|the two|the three|both)\b"
                          r"|\bwhich of (?:them|those|these)\b", re.IGNORECASE)
_SUCCESSOR_RE = re.compile(r"\b(?:its|their|the)\s+(?:successor|newer (?:one|version|model|release)|next (?:version|"
                           r"generation|release)|later version|follow-up model)\b", re.IGNORECASE)
_PREDECESSOR_RE = re.compile(r"\b(?:its|their|the)\s+(?:older (?:one|version|model|release)|previous (?:version|"
                             r"generation|release)|earlier version)\b", re.IGNORECASE)
_BACK_RE = re.compile(r"^\s*(?:ok(?:ay)?,?\s+|now\s+)?(?:going\s+|coming\s+)?back to\s+(?P<what>[^,:;?\u2014\u2013]+?)"
                      r"\s*(?:[,:;\u2014\u2013]|\s-+)\s*(?P<rest>\S.*)$", re.IGNORECASE)
_BACK_FILLER = {"the", "a", "an", "one", "ones", "model", "models", "paper", "papers", "series", "version", "topic",
                "about", "on", "of"}
_REGARDING_RE = re.compile(r"\s*\(regarding [^)]*\)\s*$")


def standalone_question(question: str, history: Sequence[Message], topic: Topic | None = None,
                        known: Callable[[str], bool] | None = None) -> str:
    """The question made standalone by the heuristic (unchanged when it already is, or has no history).

    Each earlier turn is first read as it was meant (its own follow-ups resolved), so that the subject a
    turn passes on is the one it was about ("does it include MoE models?" after Qwen3 is about Qwen3)."""
    if not history:
        return question
    turns, _ = _turns(history)
    if not turns:
        turn = last_answered(history)
        return _resolved(question, [turn] if turn else [], topic, known)
    read: list[tuple[str, str]] = []
    for asked, answer in turns[-MAX_TURNS:]:
        read.append((_resolved(asked, [t for t in read if answered(t[1])], topic, known), answer))
    return _resolved(question, [t for t in read if answered(t[1])], topic, known)


def _resolved(question: str, earlier: list[tuple[str, str]], topic: Topic | None,
              known: Callable[[str], bool] | None) -> str:
    """`question` read against the answered turns before it (`earlier`, each already standalone)."""
    if not earlier:
        return question
    asked, answer = earlier[-1]
    plain = _REGARDING_RE.sub("", asked)  # the last question as it was asked
    # "and the second one: ..." after a list: the paper listed second in that answer
    ordinal = _ORDINAL_RE.search(question)
    # the list it counts in: the last answer citing several papers ("the second one" after a turn on the first)
    listed = [c for _, a in reversed(earlier) if len(c := list(dict.fromkeys(_KEY_RE.findall(a)))) > 1]
    cited = listed[0] if listed else []
    if ordinal and topic and len(cited) > 1:
        word = ordinal["nth"].lower()
        n = len(cited) - 1 if word == "last" else _ORDINALS.index(word)
        key = cited[n] if n < len(cited) else None
        # its label, else its arXiv ID (which pins the search to it)
        name = key and (topic("", [key]) or (key if key.startswith("arXiv:") else None))
        if name:
            return question if name.lower() in question.lower() else f"{question.rstrip()} (regarding {name})"
    back = _BACK_RE.match(question)
    if back:  # "back to the 1M models — how fast is prefill?": an earlier subject that name points to
        words = [w.lower() for w in re.findall(r"[\w.\-]+", back["what"]) if w.lower() not in _BACK_FILLER]
        for asked_before, answer_before in reversed(earlier):
            for name in topic_of(asked_before, answer_before, topic):
                if words and all(w in name.lower() for w in words):
                    rest = back["rest"]
                    return rest if name.lower() in rest.lower() else f"{rest.rstrip()} (regarding {name})"
    # "and May 2025?" after "what came out in January 2025?": the last question, of that date
    date = _DATE_ELLIPSIS_RE.match(question)
    previous_date = _DATE_RE.search(plain) if date else None
    if date and previous_date:
        return f"{plain[: previous_date.start()]}{date['date']}{plain[previous_date.end():]}"
    # "of those, which one is about X?": the papers of the last answer, by the date or IDs that found them
    if _OF_THOSE_RE.search(question) and len(cited) > 1:
        scope = _DATE_RE.search(plain)
        pinned = scope.group() if scope else (" ".join(cited) if all(k.startswith("arXiv:") for k in cited) else "")
        if pinned:
            return f"{question.rstrip()} (regarding {pinned})"
    # "how does its successor improve on it?" after Qwen2-VL: Qwen2.5-VL, the next version the store knows
    step = _SUCCESSOR_RE.search(question) or _PREDECESSOR_RE.search(question)
    if step and known is not None:
        for name in topic_of(asked, answer, topic):
            other = _next_version(name, 1 if step.re is _SUCCESSOR_RE else -1, known)
            if other:
                rest = question[: step.start()] + other + question[step.end():]
                it = name.replace("\\", "\\\\")  # "improve on it": on that paper
                return re.sub(r"\b(on|over|than|from)\s+it\b", rf"\1 {it}", rest, flags=re.IGNORECASE)
    names: list[str] | None = None
    elliptic = _ELLIPSIS_RE.match(question)
    if elliptic and known is not None:
        names = topic_of(asked, answer, topic)
        other = _sibling(elliptic["name"], names, known)
        # a question of its own about that sibling ("and the Math one: sizes?")
        if other and elliptic["rest"] and (asks(elliptic["rest"]) or elliptic["rest"].endswith("?")):
            rest = elliptic["rest"]
            return rest if other.lower() in rest.lower() else f"{rest.rstrip()} (regarding {other})"
        if other and names and not elliptic["rest"]:
            pattern = rf"(?<![\w.\-]){re.escape(names[0])}(?![\w\-])"
            if re.search(pattern, plain, re.IGNORECASE):
                return re.sub(pattern, other, plain, count=1, flags=re.IGNORECASE)
            return f"{plain.rstrip()} (regarding {other})"
        if other is None and not elliptic["rest"] and re.fullmatch(r"[\w.\-]*[A-Z0-9][\w.\-]*", elliptic["name"]):
            # "and QwQ?" after "what Elo did o1-mini get?": the last question, of the other thing it names
            named = [n for n in dict.fromkeys(_MODEL_NAME_RE.findall(plain))
                     if not known(n) and n.lower() != elliptic["name"].lower()]
            if len(named) == 1:
                pattern = rf"(?<![\w.\-]){re.escape(named[0])}(?![\w\-])"
                return re.sub(pattern, elliptic["name"], asked, count=1)
    if not needs_context(question, known):
        return question
    if names is None:
        names = topic_of(asked, answer, topic)
    if not names or all(n.lower() in question.lower() for n in names):
        return question
    return f"{question.rstrip()} (regarding {' '.join(names)})"


def _next_version(name: str, direction: int, known: Callable[[str], bool]) -> str | None:
    """The closest later (`direction` 1) or earlier (-1) version of `name` that names a paper: Qwen2-VL ->
    Qwen2.5-VL."""
    m = re.fullmatch(r"(?P<pre>[A-Za-z][A-Za-z\-]*?)(?P<v>\d+(?:\.\d+)?)(?P<post>.*)", name)
    if not m:
        return None
    version = float(m["v"])
    for step in (0.5, 1.0, 1.5, 2.0):
        v = version + direction * step
        if v <= 0:
            break
        candidate = f"{m['pre']}{v:g}{m['post']}"
        if known(candidate):
            return candidate
    return None


def _sibling(name: str, topics: list[str], known: Callable[[str], bool]) -> str | None:
    """The paper an elliptical follow-up names: `name` itself ("Qwen2.5-VL"), or the topic's sibling it
    abbreviates ("the Coder one" after Qwen2.5: Qwen2.5-Coder)."""
    if known(name):
        return name
    # and the topic's family: "the Math one" after Qwen2.5-Coder is Qwen2.5-Math
    bases = [*topics, *(re.split(r"[\s\-](?=[^\s\-]+$)", t)[0] for t in topics if re.search(r"[\s\-]", t))]
    for base in dict.fromkeys(bases):
        for joined in (f"{base}-{name}", f"{base} {name}", f"{base}{name}"):
            if known(joined):
                return joined
    return None
