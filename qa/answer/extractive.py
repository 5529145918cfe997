"""The extractive answerer: no LLM, no key. It picks the sentences of the retrieved papers' abstracts
that answer the question, cites each one, lists papers for "which papers..." questions, and refuses when
nothing retrieved supports an answer.

A sentence is scored by how much of the question's informative vocabulary it covers (IDF-weighted,
stemmed) and by its embedding similarity to the question. Support is judged the same way; the
thresholds are calibrated on eval/gold.jsonl (see eval/README.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from qa.bm25 import BM25Index, tokenize
from qa.papers import namelike, sentence_pieces
from qa.retrieve import MONTH_RE

# Words that say what kind of question it is, not what it is about.
META_TERMS = set(tokenize([
    "paper papers work works study studies abstract abstracts arxiv article describe describes say says "
    "discuss propose proposes introduce introduces present presents main find finds findings tell about "
    "corpus which what how does do did is are was were many much get gets come comes reach reaches use "
    "uses used using give gives contain contains cover covers involve involves summarise summarize summary "
    "overview explain explains key new show shows shown according mention mentions conclusion conclusions "
    "result results contribution contributions goal idea purpose approach topic created dated dates date "
    "collection from in on of for to with the a an"
])[0])
# Words that name a kind of attribute, not the attribute: "what sizes", "which two losses".
GENERIC_FOCUS = set(tokenize([
    "size sizes number numbers amount kind kinds type types version versions variant variants mode modes way ways "
    "part parts thing things level levels step steps one two three four five six over under different model models "
    "role effect impact importance significance purpose aim benefit advantage difference relationship relation "
    "meaning definition point focus scope name names"
])[0])
# "What learning rate ...", "How many GPUs ...", "What is the price of ...": the thing asked for.
FOCUS_RE = re.compile(
    r"^\s*(?:what|which|how many)\s+(?!(?:does|do|did|is|are|was|were|has|have|can)\b)"
    r"(?P<focus>(?:[\w.\-]+\s+){0,2}?[\w.\-]+)\s+"
    r"(?:does|do|did|is|are|was|were|has|have|can|could|will|would)\b"
    r"|^\s*what\s+(?:is|are|was|were)\s+the\s+(?P<attr>(?:[\w\-]+\s+){0,2}?[\w\-]+)\s+(?:of|per|for|in|that)\b"
    r"|^\s*who\s+(?:are|is|were|was)\s+the\s+(?P<who>[\w\-]+)",
    re.IGNORECASE,
)
QUANTITY_RE = re.compile(
    r"\bhow (many|much|fast|large|big|long)\b|\b(score|scores|percent|percentage|speedup|speedups|number|"
    r"sizes?|accuracy|rate|ratio|elo)\b",
    re.IGNORECASE,
)
NUMBER_RE = re.compile(r"(?<![\w.])\d[\d,.]*\s*(?:%|x\b|\u00d7|percent|[KMBT]\b|billion|million|trillion)?")
NUMBER_BONUS = 0.08
NAMED_BONUS = 0.15
LIST_QUESTION_RE = re.compile(
    r"^\s*(which|what|list|name)\b.{0,40}\b(papers|works|studies|articles|benchmarks)\b"
    r"|\b(which|what) (paper|work|study|article)s?\b.{0,30}\b(corpus|collection)\b",
    re.IGNORECASE,
)

EmbedFn = Callable[[list[str]], list[list[float]]]

# Calibrated on eval/gold.jsonl (see eval/calibrate.py).
W_DENSE, W_LEXICAL = 0.55, 0.45
SUPPORT_SCORE = 0.33      # below this best sentence score: nothing retrieved answers
SUPPORT_DENSE = 0.33      # a sentence this close in meaning answers even with few shared words
RUNNER_UP = 0.85          # further sentences must score this fraction of the best
LIST_RUNNER_UP = 0.7      # the same for the papers of a "which papers" list
MAX_SENTENCES = 3
MAX_LISTED = 6


@dataclass
class Scored:
    """One candidate sentence of a retrieved paper's abstract."""

    text: str
    key: str  # the paper's doc key
    index: int  # the sentence's place in the abstract (0: its opening)
    lexical: float
    dense: float
    bonus: float = 0.0
    vector: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def score(self) -> float:
        return W_DENSE * self.dense + W_LEXICAL * self.lexical + self.bonus


def split_sentences(text: str) -> list[str]:
    """Sentences of an abstract (keeps "e.g.", "Qwen2.5", "et al." inside their sentence)."""
    return [s.strip() for s in sentence_pieces(text) if len(s.strip()) > 1]


def question_terms(question: str) -> list[str]:
    """The stemmed words a question is about."""
    return [t for t in dict.fromkeys(tokenize([question])[0]) if t not in META_TERMS]


def coverage(terms: list[str], text: str, idf: dict[str, float]) -> float:
    """IDF-weighted share of `terms` that occur in `text`."""
    if not terms:
        return 0.0
    present = set(tokenize([text])[0])
    total = sum(idf[t] for t in terms)
    return sum(idf[t] for t in terms if t in present) / total if total else 0.0


def focus_terms(question: str) -> list[str]:
    """The stemmed words of what the question asks for ("learning rate", "GPUs"), if it says."""
    m = FOCUS_RE.search(question)
    if not m:
        return []
    phrase = m["focus"] or m["attr"] or m["who"] or ""
    return [t for t in tokenize([phrase])[0] if t not in META_TERMS and t not in GENERIC_FOCUS]


def entities(question: str) -> list[str]:
    """Names in the question (Qwen3, GPT-4o, MMLU) that an answer's sources must mention.

    Three-letter capitals (CPU, GPU, SFT) are common nouns of the field, not names.
    """
    words = dict.fromkeys(_NAME_RE.findall(question))
    return [w for w in words if namelike(w) and not (len(w) <= 3 and w.isupper())]


_NAME_RE = re.compile(r"\b[A-Za-z][A-Za-z0-9]*(?:[.\-][A-Za-z0-9]+)*\b")


MULTI_RE = re.compile(r"\b(and|or|vs\.?|versus|compared?|comparison|both|between|to)\b", re.IGNORECASE)


def missing_from(materials: dict[str, str], question: str) -> list[str]:
    """What the question asks about (its focus and its names) that the sources never mention.

    `materials` is the text of each retrieved paper. A question naming several things joined by
    "and", "versus", "to"... may find them in different papers; otherwise one paper must have them all.
    """
    focus, names = focus_terms(question), entities(question)
    if not focus and not names:
        return []
    if len(names) >= 2 and MULTI_RE.search(question):
        return _gaps(" ".join(materials.values()), focus, names)
    return min((_gaps(t, focus, names) for t in materials.values()), key=len, default=[*focus, *names])


def mentions(text: str, name: str) -> bool:
    """Does `text` name `name` as a whole word ("Qwen2.5" is not in "Qwen2.5-Math")?"""
    return re.search(rf"(?<![\w.\-]){re.escape(name)}(?![\w\-]|\.\w)", text, re.IGNORECASE) is not None


def _gaps(text: str, focus: list[str], names: list[str]) -> list[str]:
    words = set(tokenize([text])[0])
    return [t for t in focus if t not in words] + [e for e in names if not mentions(text, e)]


def score_sentences(question_vec: list[float], papers: dict[str, str], terms: list[str],
                    idf: dict[str, float], embed: EmbedFn, quantity: bool = False) -> list[Scored]:
    """Every sentence of the papers' abstracts (key -> abstract), scored against the question."""
    triples = [(s, key, i) for key, text in papers.items() for i, s in enumerate(split_sentences(text))]
    if not triples:
        return []
    vectors = np.asarray(embed([s for s, _, _ in triples]), dtype=np.float32)
    q = np.asarray(question_vec, dtype=np.float32)
    sims = vectors @ q / (np.linalg.norm(vectors, axis=1) * np.linalg.norm(q) + 1e-9)
    return [Scored(s, key, i, coverage(terms, s, idf), float(sim),
                   NUMBER_BONUS if quantity and NUMBER_RE.search(s) else 0.0, vec)
            for (s, key, i), sim, vec in zip(triples, sims, vectors, strict=True)]


def rescore(scored: list[Scored], question: str, index: BM25Index, embed: EmbedFn) -> list[Scored]:
    """The same sentences scored against another (sub-)question, reusing their vectors."""
    terms = question_terms(question)
    idf = idf_table(index, terms)
    q = np.asarray(embed([question])[0], dtype=np.float32)
    out = []
    for s in scored:
        v = s.vector if s.vector is not None else q
        dense = float(v @ q / (np.linalg.norm(v) * np.linalg.norm(q) + 1e-9))
        out.append(replace(s, lexical=coverage(terms, s.text, idf), dense=dense))
    return out


SUB_QUESTION_RE = re.compile(r",?\s+and\s+(?=(?:what|which|how|on|in|who|where|when|does|do|is|are|why)\b)",
                             re.IGNORECASE)


def sub_questions(question: str) -> list[str]:
    """The parts of a question that asks two things ("How many X, and what does Y?")."""
    parts = [p.strip() for p in SUB_QUESTION_RE.split(question) if p.strip()]
    return parts if len(parts) > 1 else []


def boost_named(scored: list[Scored], names: list[str], labels: dict[str, str | None]) -> None:
    """Sentences of a paper the question names (by its label) come first."""
    named = {k for k, label in labels.items() if label and any(label.lower() == n.lower() for n in names)}
    for s in scored:
        if s.key in named:
            s.bonus += NAMED_BONUS


def is_supported(best: Scored | None, missing: list[str]) -> bool:
    """Does the best sentence answer the question? (The refusal rule.)"""
    if best is None or missing:
        return False
    return best.score >= SUPPORT_SCORE or best.dense >= SUPPORT_DENSE


def pick(scored: list[Scored], list_question: bool) -> list[Scored]:
    """The sentences to answer with: one per paper for list questions, else the best few."""
    ranked = sorted(scored, key=lambda s: -s.score)
    best = ranked[0].score
    floor = max(LIST_RUNNER_UP * best, SUPPORT_SCORE) if list_question else RUNNER_UP * best
    per_paper, limit = (1, MAX_LISTED) if list_question else (2, MAX_SENTENCES)
    chosen: list[Scored] = []
    for s in ranked:
        if s.score < floor and chosen:
            break
        if sum(c.key == s.key for c in chosen) < per_paper:
            chosen.append(s)
        if len(chosen) == limit:
            break
    return chosen


SUMMARY_CUE_RE = re.compile(
    r"\b(we (find|show|observe|demonstrate|introduce|propose|present)|results?|achiev\w*|outperform\w*|"
    r"improv\w*|reveal\w*|matters?)\b",
    re.IGNORECASE,
)


def summary_of(scored: list[Scored], per_paper: int = 3) -> list[Scored]:
    """For "what is <paper> about" or "papers from <month>": each paper's opening and key sentences."""
    out: list[Scored] = []
    for key in dict.fromkeys(s.key for s in scored):
        own = [s for s in scored if s.key == key]
        opening = own[0]
        cues = sorted((s for s in own[1:] if SUMMARY_CUE_RE.search(s.text) or NUMBER_RE.search(s.text)),
                      key=lambda s: -s.score)
        out += [opening, *cues[: per_paper - 1]]
    return out


def per_name(scored: list[Scored], names: list[str], labels: dict[str, str | None],
             papers: dict[str, str]) -> list[Scored]:
    """The best sentence of the paper each name names (or mentions), for questions about several things."""
    out: list[Scored] = []
    for name in names:
        keys = {k for k, label in labels.items() if label and label.lower() == name.lower()}
        keys = keys or {k for k, text in papers.items() if mentions(text, name)}
        best = max((s for s in scored if s.key in keys), key=lambda s: s.score, default=None)
        if best is not None and best not in out:
            out.append(best)
    return out


def idf_table(index: BM25Index, terms: list[str]) -> dict[str, float]:
    return {t: index.idf(t) for t in terms}


_ID_OR_YEAR_RE = re.compile(r"arXiv:\s*\S+|\b\d{4}\.\d{4,5}(v\d+)?\b|\b(19|20)\d\d\b", re.IGNORECASE)


def content_of(question: str) -> str:
    """The question without the IDs and dates that only filter the search."""
    return _ID_OR_YEAR_RE.sub(" ", MONTH_RE.sub(" ", question))


@dataclass
class Extract:
    """The extractive answerer's decision: the sentences to answer with, or a refusal."""

    chosen: list[Scored]
    list_question: bool
    best: Scored | None
    missing: list[str]

    @property
    def refused(self) -> bool:
        return not self.chosen


def lacks_number(question: str, chosen: list[Scored]) -> bool:
    """A "how many" question whose answer sentences hold no number at all."""
    return bool(re.match(r"\s*how many\b", question, re.IGNORECASE)) and not any(
        NUMBER_RE.search(s.text) for s in chosen)


def extract(question: str, question_vec: list[float], papers: dict[str, str], index: BM25Index,
            embed: EmbedFn, scoped: bool, labels: dict[str, str | None]) -> Extract:
    """Choose the supporting sentences for `question` from the retrieved papers, or none (refusal).

    `papers`: doc key -> abstract of each retrieved paper, best first.
    `scoped`: the search was limited to pinned IDs or dates, so every paper is on topic.
    `labels`: a short name of each paper (its title, or what its abstract introduces).
    """
    content = content_of(question)
    terms = question_terms(content)
    scored = score_sentences(question_vec, papers, terms, idf_table(index, terms), embed,
                             bool(QUANTITY_RE.search(question)))
    names = entities(content)
    boost_named(scored, names, labels)
    list_question = bool(LIST_QUESTION_RE.search(question))
    best = max(scored, key=lambda s: s.score, default=None)
    missing = missing_from(papers, content) if scored else []
    if best is None or missing:
        return Extract([], list_question, best, missing)
    if scoped and not terms:
        chosen = summary_of(scored, per_paper=1 if list_question else 3)
        return Extract(chosen[: MAX_LISTED if list_question else MAX_SENTENCES], list_question, best, missing)
    if not (scoped or is_supported(best, missing)):
        return Extract([], list_question, best, missing)
    chosen = pick(scored, list_question)
    for part in sub_questions(content):
        top = max(rescore(scored, part, index, embed), key=lambda s: s.score)
        chosen += [s for s in scored if s.text == top.text and s not in chosen][:1]
    if len(names) >= 2:
        chosen += [s for s in per_name(scored, names, labels, papers) if s not in chosen]
    return Extract([] if lacks_number(question, chosen) else chosen, list_question, best, missing)


def render(extract: Extract, labels: dict[str, str | None]) -> str:
    """The answer text, each sentence followed by its citation, and named by its paper when it is not."""

    def named(s: Scored) -> str:
        label = labels.get(s.key)
        return s.text if not label or label.lower() in s.text.lower() else f"{label}: {s.text}"

    if extract.list_question:
        return "These abstracts match:\n" + "\n".join(f"- {named(s)} [{s.key}]" for s in extract.chosen)
    out, last = [], None
    for s in extract.chosen:
        out.append(f"{named(s) if s.key != last else s.text} [{s.key}]")
        last = s.key
    return " ".join(out)
