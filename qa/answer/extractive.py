"""The extractive answerer: no LLM, no key. It answers with the sentences of the retrieved abstracts that
carry what the question asks for about the thing it asks about, cites each one, lists papers for
"which papers..." questions, and refuses when no retrieved sentence carries it.

Each step follows the question's reading (`qa.answer.question`): the kind of answer wanted (a number,
an expansion, the parts of a method, a list of papers, a summary), the subject named (its paper, not a
sibling whose name extends it: `qa.answer.subjects`) and the attribute asked for. A sentence is scored
by how much of the question's vocabulary it covers (IDF-weighted stems) and by its embedding similarity
to the question; the constants in `Params` are derived from the dev split by eval/calibrate.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import lru_cache

import numpy as np

from qa.answer.question import (
    COMPARATIVES,
    LINEAGE,
    NAMING_EVIDENCE,
    NUMBER_WORDS,
    PART_WORDS,
    Kind,
    Question,
    asks,
    parse,
    recased,
    used_name,
    words_of,
)
from qa.answer.subjects import expansion, family, mentions, name_pattern, names, owner
from qa.index.bm25 import BM25Index, tokenize
from qa.papers import split_sentences

EmbedFn = Callable[[list[str]], list[list[float]]]

NUMBER_RE = re.compile(r"(?<![\w.\-])\d[\d,.]*\s*(?:%|x\b|\u00d7|percent|[KMBT]\b|billion|million|trillion)?")
_VERSION_RE = re.compile(r"\b[A-Z][A-Za-z]*[\s\-]\d+(?:\.\d+)?\b")  # "Qwen 2.5", "Claude 3.5": names, not figures


_COUNT_WORDS_RE = re.compile(r"\b(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozens?|hundreds?|"
                             r"thousands?|millions?|billions?|trillions?|half|double|twice|triple)\b", re.IGNORECASE)


_GROWTH_RE = re.compile(r"\bO\([^)]{1,20}\)|\b(?:log(?:arithmic(?:ally)?)?|linear(?:ly)?|quadratic(?:ally)?|"
                        r"exponential(?:ly)?)\s+(?:in\s+)?[A-Za-z]\b")  # "O(log P)", "linearly in N": how much


# A length of time given by its unit ("videos of extended durations (up to hours)"): how long.
_DURATION_RE = re.compile(r"\b(?:up to|over|for|within|several|many|lasting)\s+(?:seconds|minutes|hours|days|weeks)\b",
                          re.IGNORECASE)


# "(2) In the post-training phase ...": a list's marker, not a figure
_ENUMERATOR_RE = re.compile(r"\(\s*(?:\d{1,2}|[ivx]{1,4}|[a-h])\s*\)")


def has_number(sentence: str) -> bool:
    """Does the sentence state a figure (not just a version in a name, nor a list's marker)?"""
    sentence = _ENUMERATOR_RE.sub(" ", sentence)
    return (NUMBER_RE.search(_VERSION_RE.sub(" ", sentence)) is not None or bool(_COUNT_WORDS_RE.search(sentence))
            or _GROWTH_RE.search(sentence) is not None or _DURATION_RE.search(sentence) is not None)


# "72B", "0.5 billion parameters"; not "15M-scale data"
_MODEL_SIZE_RE = re.compile(r"(?<![\w.])\d+(?:\.\d+)?\s*[BM](?![\w\-])"
                            r"|\b\d+(?:\.\d+)?\s+(?:billion|million) parameters\b")
SIZE_WORDS = frozenset(words_of("size sizes parameter parameters model models scale scales variant variants version "
                                "versions series billion million weights"))
FIGURE_WINDOW = 8  # words between a figure and the thing it counts ("over 5.5 trillion tokens")
_COUNTING_RE = re.compile(r"two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozens?|hundreds?|thousands?",
                          re.IGNORECASE)
_WORD_RE = re.compile(r"[\w.\-\u00d7%]+")
_CLAUSE_RE = re.compile(r"[,;]\s+(?=[a-z])")  # "72 billion, featuring ... a Mixture-of-Experts model": another clause


def states_figure_of(sentence: str, focus: list[str], counted: bool = False) -> bool:
    """Does the sentence state a figure, and one of the asked-for thing when it names that thing?

    "How many experts?" is not answered by "0.5 to 72 billion parameters, ... a Mixture-of-Experts model":
    the figure counts something else, far from "experts".
    """
    if not has_number(sentence):
        return False
    # Every figure a model's size ("0.6B, 4B, 8B"): no figure of another measure ("embedding dimension")
    if focus and not set(focus) & SIZE_WORDS and sizes_only(sentence):
        return False
    sentence = _ENUMERATOR_RE.sub(" ", sentence)
    stated = _GROWTH_RE.sub(" O(1) ", _DURATION_RE.sub(" 1 ", sentence))  # "O(log P)", "up to hours": figures too
    clauses = [_WORD_RE.findall(c) for c in _CLAUSE_RE.split(_VERSION_RE.sub(" ", stated))]
    words = [(n, w) for n, clause in enumerate(clauses) for w in clause]
    named = [(i, n) for i, (n, w) in enumerate(words) if focus and names_focus(set(words_of(w)), focus)]
    # "a base language model" does not count languages (`counted`: "how many languages"): the word before
    # "model" says what kind of model it is
    # nor does "Mixture-of-Experts" count experts: the compound names a mixture
    at = [(i, n) for i, n in named if not (counted and i + 1 < len(words) and "model" not in focus
                                           and words[i + 1][1].lower().rstrip(".") in ("model", "models"))
          and not (counted and "-of-" in words[i][1]
                   and not names_focus(set(words_of(words[i][1].split("-of-")[0])), focus))]
    if named and not at:
        return False
    if not at:  # the thing asked for is worded otherwise here (its meaning was checked)
        return True
    figures = [(i, n) for i, (n, w) in enumerate(words) if re.search(r"\d", w) or _COUNTING_RE.fullmatch(w)]
    return any(abs(i - j) <= FIGURE_WINDOW and n == m for i, n in at for j, m in figures)


def sizes_only(sentence: str) -> bool:
    """Are all the figures of the sentence models' sizes ("0.6B, 4B, 8B", "Qwen2.5-Math-Instruct-1.5B/7B/72B"),
    not "15M-scale data"?"""
    text = _ENUMERATOR_RE.sub(" ", _VERSION_RE.sub(" ", sentence))
    return _MODEL_SIZE_RE.search(text) is not None and not NUMBER_RE.search(_MODEL_SIZE_RE.sub(" ", text))


_COUNTED_RE = re.compile(rf"(?<![\w.\-])(?:\d[\d,]*|\b(?:{_COUNTING_RE.pattern})\b)\+?((?:\s+[A-Za-z][\w\-]*){{1,3}})",
                         re.IGNORECASE)
_OTHER_FIGURE_RE = re.compile(r"\d\s*(?:%|x\b|\u00d7|percent)|\d\.\d")


def counts_other_things(sentence: str, focus: list[str]) -> bool:
    """Does every figure of the sentence count something named right after it other than the thing asked for
    ("80 diverse characters and over 8,000 dialogue rounds" for "how many annotators")?"""
    text = _VERSION_RE.sub(" ", sentence)
    counts = list(_COUNTED_RE.finditer(text))
    if not focus or not counts or _OTHER_FIGURE_RE.search(text):
        return False
    # An acronym counted ("3 proprietary LLMs") may be the field's word for the thing asked for ("models").
    return not any(set(words_of(m.group(1))) & set(focus) or re.search(r"\b[A-Z]{2,}s?\b", m.group(1))
                   for m in counts)


MULTI_RE = re.compile(r"\b(and|or|vs\.?|versus|compared?|comparison|both|between|each|to)\b", re.IGNORECASE)
ENUMERATION_RE = re.compile(r"\(\s*(?:1|i|a)\s*\)|\b(?:first|firstly)\b.*\b(?:second|then)\b|:\s*\w[^.]*,[^.]*\band\b",
                            re.IGNORECASE)
FINDING_RE = re.compile(
    r"\b(we (find|found|show|observe|demonstrate|reveal|conclude|suggest|argue)|results?|findings?|achiev\w*|"
    r"outperform\w*|improv\w*|reveal\w*|matters?|suggest\w*|highlight\w*|surpass\w*|innovations?)\b",
    re.IGNORECASE,
)


# What the parts of a system are called when a sentence names one ("a style encoder", "an infusion module").
COMPONENT_WORDS = frozenset(words_of("encoder encoders decoder decoders module modules layer layers block blocks "
                                     "head heads network networks branch branches router"))


@dataclass(frozen=True)
class Params:
    """The answerer's tuned constants: eval/calibrate.py derives them from the dev split and prints them."""

    w_dense: float = 0.45         # weight of embedding similarity in a sentence's score
    w_lexical: float = 0.55       # weight of IDF-weighted coverage of the question's stems
    support_score: float = 0.33   # below this best score nothing retrieved answers
    support_dense: float = 0.4    # a sentence this close in meaning answers even with few shared words
    attribute_cover: float = 0.3  # share (IDF-weighted) of the asked-for attribute's stems the answer must carry
    runner_up: float = 0.6        # further sentences must score this fraction of the best
    list_runner_up: float = 0.5   # the same for the papers of a "which papers" list
    kind_bonus: float = 0.15      # a sentence of the kind asked for (has a number, names parts)
    subject_dense: float = 0.35   # the same as support_dense inside the paper of a subject the question names
    subject_near: float = 0.7     # ... and the similarity (names and all) that answers a question asking nothing
    #                               specific of that subject ("how big were its models?")
    focus_dense: float = 0.5      # a sentence without the words of the thing asked for must be this close in meaning
    evidence_near: float = 0.6    # a figure or name asked for: its sentence scores this fraction of the best evidence
    background: float = 0.15      # what a sentence setting the scene ("However, current ...") loses in score


PARAMS = Params()
MAX_SENTENCES = 3
MAX_LISTED = 8


@dataclass
class Scored:
    """One candidate sentence of a retrieved paper's abstract."""

    text: str
    key: str  # the paper's doc key
    index: int  # the sentence's place in the abstract (0: its opening)
    lexical: float
    dense: float
    attribute: float = 1.0  # share of the asked-for attribute's stems it carries
    adense: float = 0.0  # embedding similarity to the question without its subject's names
    bonus: float = 0.0
    borrowed: bool = False  # it points back ("These merits ..."), and carries asked-for words only with the one before
    vector: np.ndarray | None = field(default=None, repr=False, compare=False)
    params: Params = field(default=PARAMS, repr=False, compare=False)

    @property
    def score(self) -> float:
        return self.params.w_dense * self.adense + self.params.w_lexical * self.attribute + self.bonus


@lru_cache(maxsize=65536)
def stems(text: str) -> frozenset[str]:
    """The stemmed words of `text` (remembered: the same abstract sentences are read again and again)."""
    return frozenset(words_of(text))


def coverage(terms: list[str], text: str, idf: dict[str, float]) -> float:
    """IDF-weighted share of `terms` that occur in `text`."""
    if not terms:
        return 1.0
    present = stems(text)
    total = sum(idf[t] for t in terms)
    return sum(idf[t] for t in terms if t in present) / total if total else 0.0


def _cosines(vectors: np.ndarray, vector: list[float]) -> np.ndarray:
    q = np.asarray(vector, dtype=np.float32)
    return np.asarray(vectors @ q / (np.linalg.norm(vectors, axis=1) * np.linalg.norm(q) + 1e-9))


_ANAPHOR_RE = re.compile(r"(?:This|These|Those|Such|It|They|Its|Their)\b")


def score_sentences(question: Question, question_vec: list[float], papers: dict[str, str], index: BM25Index,
                    embed: EmbedFn, params: Params, subjects: list[str] | None = None) -> list[Scored]:
    """Every sentence of the papers' abstracts (key -> abstract), scored against what the question asks
    of its `subjects` (the names of the papers it is about, taken out of it: they choose the papers)."""
    triples = [(s, key, i) for key, text in papers.items() for i, s in enumerate(split_sentences(text))]
    if not triples:
        return []
    subjects = subjects or []
    attribute = question.attribute_terms(subjects)
    idf = {t: index.idf(t) for t in [*question.terms, *attribute]}
    vectors = np.asarray(embed([s for s, _, _ in triples]), dtype=np.float32)
    bare = without_names(question.text, subjects)
    bare_vec = embed([bare])[0] if bare != question.text else question_vec
    sims, asims = _cosines(vectors, question_vec), _cosines(vectors, bare_vec)
    # "This RM is then applied to ...": a sentence that opens by pointing back means what it says of the one before.
    read = [f"{triples[n - 1][0]} {s}" if i and _ANAPHOR_RE.match(s) else s for n, (s, _, i) in enumerate(triples)]
    joined = [n for n, text in enumerate(read) if text is not triples[n][0]]
    if joined:
        both = np.asarray(embed([read[n] for n in joined]), dtype=np.float32)
        sims[joined] = np.maximum(sims[joined], _cosines(both, question_vec))
        asims[joined] = np.maximum(asims[joined], _cosines(both, bare_vec))
    return [Scored(s, key, i, coverage(question.terms, text, idf), float(sim), coverage(attribute, text, idf),
                   float(asim), _kind_bonus(question, s, params) - _background_cost(question, s, params),
                   text is not s and coverage(attribute, s, idf) < coverage(attribute, text, idf), vec, params)
            for (s, key, i), text, sim, asim, vec in zip(triples, read, sims, asims, vectors, strict=True)]


def without_names(text: str, names: list[str]) -> str:
    """`text` with `names` blanked: what it asks of them."""
    for name in sorted(names, key=len, reverse=True):
        text = re.sub(rf"(?<![\w.\-]){re.escape(name)}(?![\w\-])", " ", text, flags=re.IGNORECASE)
    return " ".join(text.split())


def _kind_bonus(question: Question, sentence: str, params: Params) -> float:
    """A bonus for a sentence of the kind the question wants: a number, the parts of a method."""
    if question.kind is Kind.NUMBER:
        return params.kind_bonus if has_number(sentence) else 0.0
    if question.kind is Kind.PARTS:
        words = stems(sentence)
        named = bool(words & (PART_WORDS | COMPONENT_WORDS)) or bool(ENUMERATION_RE.search(sentence))
        counted = question.count is not None and bool(words & NUMBER_WORDS | {str(question.count)})
        return params.kind_bonus * (named + counted) / 2
    return 0.0


# What a sentence says when it sets the scene rather than says what the paper does ("It is commonly believed
# that ...", "However, current evaluations ...", "Recent advances in ..."): the field's state, a gap, a belief.
BACKGROUND_RE = re.compile(
    r"^(?:however|recently|recent|despite|although|while|traditionally|conventionally|existing|current|previous|prior|"
    r"conventional|typically|historically|nowadays|in recent years|to date|so far|yet)\b"
    r"|^(?:it|this) (?:is|has been|remains) (?:commonly|widely|generally|often|increasingly|well)\b"
    r"|\b(?:has|have) (?:recently )?(?:emerged|attracted|gained|garnered|become|shown great|been widely)\b"
    r"|\b(?:remains?|is|are) (?:challenging|underexplored|unclear|overlooked|largely overlooked|limited|lacking)\b"
    r"|\b(?:has|have) (?:largely )?been (?:overlooked|neglected|underexplored)\b",
    re.IGNORECASE)
_OWN_WORK_RE = re.compile(r"\b(?:we|our|this (?:paper|work|report|study|method)|namely|the proposed)\b", re.IGNORECASE)
# A question about the field's state or a gap wants those sentences ("what problems do prior methods face?").
_ASKS_BACKGROUND_RE = re.compile(
    r"\b(?:why|motivat\w*|problems?|limitations?|challenges?|gaps?|drawbacks?|shortcomings?|issues?|existing|prior|"
    r"previous|earlier|criticiz\w*|criticis\w*|background|belie\w*|overlooked|before)\b", re.IGNORECASE)


def _background_cost(question: Question, sentence: str, params: Params) -> float:
    """What a sentence that sets the scene loses against one saying what the paper does (nothing when the
    question asks about the scene)."""
    if not params.background or _ASKS_BACKGROUND_RE.search(question.text):
        return 0.0
    return params.background if BACKGROUND_RE.search(sentence) and not _OWN_WORK_RE.search(sentence) else 0.0


@dataclass
class Extract:
    """The extractive answerer's decision: the sentences to answer with, or a refusal."""

    chosen: list[Scored]
    list_question: bool
    best: Scored | None
    missing: list[str]
    prefix: str = ""  # a sentence of our own that leads the answer (an acronym's expansion)

    @property
    def refused(self) -> bool:
        return not self.chosen


def unknown_names(question: Question, papers: dict[str, str], labels: dict[str, str | None]) -> list[str]:
    """The names the question asks about that the retrieved papers do not mention together.

    Names that are papers' own (their subjects) may each have their paper; every other name must be
    mentioned by one paper with them, unless the question joins several things ("and", "versus"...).
    """
    names = [n for n in [*question.names, *question.proper] if not excluded(question.text, n)]
    if not names:
        return []
    owners = {n: k for n in question.names if (k := owner(n, papers, labels))}
    others = [n for n in names if n not in owners]
    joined = _LEAD_RE.sub("", question.text)  # "and Claude's rating?" goes on; it joins no two names
    if (len(names) >= 2 and MULTI_RE.search(joined)) or not others:
        texts = [" ".join(papers.values())]
    else:
        texts = [papers[k] for k in dict.fromkeys(owners.values())] or list(papers.values())
    gaps = [[n for n in others if not _named(text, n, n in question.proper)] for text in texts]
    return min(gaps, key=len, default=list(others))


_LEAD_RE = re.compile(r"^\s*(?:and|also|so|then|ok(?:ay)?|well)\b[\s,]*", re.IGNORECASE)


def excluded(text: str, name: str) -> bool:
    """Does `text` set `name` aside ("Qwen2.5 (not Coder or 1M)", "other than GPT-4o")? Then no paper need
    mention it."""
    return re.search(rf"\b(?:not|except|excluding|other than|rather than|besides|apart from)\s+(?:the\s+)?"
                     rf"(?:[\w.\-]+(?:\s*,\s*|\s+(?:or|and|nor)\s+)){{0,3}}{re.escape(name)}(?![\w\-])",
                     text, re.IGNORECASE) is not None


def _named(text: str, name: str, proper: bool) -> bool:
    """Does `text` name `name`? A proper noun may start a longer name ("Qwen" in "Qwen2.5-1M")."""
    if proper:
        return re.search(rf"(?<![\w.\-]){re.escape(name)}", text, re.IGNORECASE) is not None
    return mentions(text, name)


def subject_keys(question: Question, papers: dict[str, str], labels: dict[str, str | None]) -> dict[str, list[str]]:
    """For each name of the question, the papers it means: its owner, else the papers that mention it."""
    out: dict[str, list[str]] = {}
    for name in question.names:
        key = owner(name, papers, labels)
        out[name] = [key] if key else [k for k, text in papers.items() if mentions(text, name)]
    return out


def evidence_filter(question: Question, scored: list[Scored]) -> list[Scored]:
    """The sentences stating a rarely-stated detail the question asks for (all sentences when it asks none)."""
    if not question.unstated:
        return scored
    # Evidence that names the answer ("under Apache 2.0" for "which license") states it, in whatever words.
    naming = [p for p in question.unstated if p.pattern in NAMING_EVIDENCE]
    return [replace(s, attribute=1.0) if any(p.search(s.text) for p in naming) else s
            for s in scored if any(p.search(s.text) for p in question.unstated)]


def carries(s: Scored, params: Params) -> bool:
    """Does the sentence carry what the question asks for (its words, or its meaning)?"""
    return s.attribute >= params.attribute_cover or s.adense >= params.support_dense


def has_focus(question: Question, s: Scored, params: Params) -> bool:
    """Does the sentence name the thing the question asks for ("how many layers": layers), or mean it?
    One word of it is enough ("accuracy gain": accuracy): the rest may be worded otherwise."""
    return (not question.focus or names_focus(stems(s.text), question.focus) or s.adense >= params.focus_dense
            or any(p.pattern in NAMING_EVIDENCE and p.search(s.text) for p in question.unstated)
            or (set(question.focus) <= COMPARATIVES and _RATIO_RE.search(s.text) is not None))


_RATIO_RE = re.compile(r"\d(?:\.\d+)?\s*(?:x\b|\u00d7|%|-fold|\s+times\b)", re.IGNORECASE)


def names_focus(words: set[str] | frozenset[str], focus: list[str]) -> bool:
    """Do the stemmed `words` name the thing asked for: one of its stems, or a word ending in one
    ("pretrained" names training, "multilingual" lingual)?"""
    return bool(words & set(focus)) or any(w.endswith(f) for w in words for f in focus if len(f) >= 4)


def supported(best: Scored, params: Params, subject: bool = False) -> bool:
    """Does the sentence answer the question? (The refusal rule.) `subject`: it is in the paper of a subject
    the question names, so its meaning need only match what is asked of that subject."""
    if subject and best.attribute < params.attribute_cover:
        return best.adense >= params.subject_dense
    return carries(best, params) and (best.score >= params.support_score or best.dense >= params.support_dense)


def pick(scored: list[Scored], list_question: bool, params: Params, parts: bool = False) -> list[Scored]:
    """The sentences to answer with: one per paper for list questions, else the best few (the parts of a
    method are often named over several sentences of its abstract: up to MAX_SENTENCES of one paper)."""
    ranked = sorted(scored, key=lambda s: -s.score)
    best = ranked[0].score
    floor = max(params.list_runner_up * best, params.support_score) if list_question else params.runner_up * best
    per_paper, limit = (1, MAX_LISTED) if list_question else (MAX_SENTENCES if parts else 2, MAX_SENTENCES)
    chosen: list[Scored] = []
    for s in ranked:
        if s.score < floor and chosen:
            break
        if sum(c.key == s.key for c in chosen) < per_paper:
            chosen.append(s)
        if len(chosen) == limit:
            break
    return chosen


# "what's new in Qwen3 compared with the older one?": what it changed over its predecessor
_VERSUS_OLDER_RE = re.compile(r"\b(?:compared (?:with|to)|vs\.?|versus|than|over)\b.*\b(?:older|earlier|previous|prior|"
                              r"predecessors?|before|last)\b", re.IGNORECASE)
_ASKS_NEW_RE = re.compile(r"\b(?:new|novel|innovat\w*)\b", re.IGNORECASE)


def _preferred_cues(question: str) -> re.Pattern[str] | None:
    """What a summary's further sentences should say first: what is new ("what's new in X?") and what changed
    over the predecessor ("... compared with the older one?")."""
    wanted = [*([r"\binnovat\w*|\bnovel\b|\bnew\b"] if _ASKS_NEW_RE.search(question) else []),
              *([LINEAGE] if _VERSUS_OLDER_RE.search(question) else [])]
    return re.compile("|".join(wanted), re.IGNORECASE) if wanted else None


def summary_of(scored: list[Scored], per_paper: int = 3, lead: bool = False,
               prefer: re.Pattern[str] | None = None) -> list[Scored]:
    """For "what is <paper> about" or "papers from <month>": each paper's opening and key sentences.

    `lead`: the question asks what the paper addresses or what its method is called ("what task does X
    address?"): the abstract's first sentence, which states the problem, comes before its opening."""
    out: list[Scored] = []
    for key in dict.fromkeys(s.key for s in scored):
        own = sorted((s for s in scored if s.key == key), key=lambda s: s.index)
        opening = next((s for s in own if re.search(r"\bwe\b|\bthis (paper|work|report)\b", s.text, re.I)), own[0])
        if lead and own[0] is not opening and own[0].index == 0:
            out += [own[0], opening]
            continue
        cues = sorted((s for s in own if s is not opening and (FINDING_RE.search(s.text) or has_number(s.text))),
                      key=lambda s: (-bool(prefer and prefer.search(s.text)),
                                     -(bool(FINDING_RE.search(s.text)) + has_number(s.text)), -s.score))
        out += sorted([opening, *cues[: per_paper - 1]], key=lambda s: s.index)
    return out


# What a question asks of a paper as a whole: the problem it takes on and what its method is called.
PROBLEM_TERMS = frozenset(words_of("task tasks problem problems address addresses addressed tackle tackles tackled "
                                   "solve solves solved"))
ABOUT_TERMS = PROBLEM_TERMS | frozenset(words_of("method methods call called framework"))


def asks_problem(q: Question) -> bool:
    """Does `q` ask what problem a paper takes on ("what task does X address")?"""
    return bool(set(q.terms) & PROBLEM_TERMS)


def asks_about(q: Question, subjects: list[str], strict: bool = False) -> bool:
    """Does `q` ask what a paper is about ("what does X find", "what task does X address and what is its method
    called") rather than a detail of it? Its only other words are names. `strict` (a part of a question):
    it says so ("the models in the series?" asks which models)."""
    if q.unstated:
        return False
    if q.kind is Kind.SUMMARY:
        return True
    asked = set(q.attribute_terms(subjects))
    if strict and (q.names_asked or not asked):
        return False
    return q.kind is Kind.OTHER and asked <= ABOUT_TERMS


def _pool_keys(question: Question, papers: dict[str, str],
               labels: dict[str, str | None]) -> tuple[set[str] | None, dict[str, list[str]]]:
    """The papers whose sentences may answer (None: all) and the papers each subject name owns: the
    owners of the names the question gives, else the papers mentioning every name."""
    subjects = subject_keys(question, papers, labels)
    owned = {n: keys for n, keys in subjects.items() if len(keys) == 1 and owner(n, papers, labels)}
    if owned:
        return {k for ks in owned.values() for k in ks}, owned
    if question.described and not subjects:  # "the gated attention study": the papers saying most of it
        said = {k: len(set(question.described) & stems(text)) for k, text in papers.items()}
        most = max(said.values(), default=0)
        return ({k for k, n in said.items() if n == most} if 2 * most > len(set(question.described)) else None), owned
    if subjects:
        common = set.intersection(*(set(ks) for ks in subjects.values()))
        return common or {k for ks in subjects.values() for k in ks}, owned
    return None, owned


def with_labels(question: Question, labels: dict[str, str | None]) -> Question:
    """The question with the labels of retrieved papers it names ("Qwen3 Embedding") among its names,
    in place of the shorter names inside them ("Qwen3")."""
    found = [label for label in dict.fromkeys(v for v in labels.values() if v)
             if re.search(r"[\s\-]", label) and mentions(question.text, label)]
    if not found:
        return question
    rest = question.text  # the question without the labels: a shorter name is kept only when named apart
    for label in found:
        rest = re.sub(name_pattern(label), " ", rest, flags=re.IGNORECASE)
    inner = [n for n in question.names if not any(mentions(label, n) for label in found) and
             (mentions(rest, n) or not any(n.lower() in label.lower() for label in found))]
    label_stems = set(tokenize([" ".join(found)])[0])
    return replace(question, names=[*found, *inner], focus=[t for t in question.focus if t not in label_stems])


def _listing(question: Question, scored: list[Scored], papers: dict[str, str], labels: dict[str, str | None],
             scoped: bool, params: Params) -> list[Scored]:
    """The papers a list question asks for: one line each (refused when none is on its topic)."""
    # A family is a name some retrieved paper's own name starts with ("Qwen": Qwen2.5-1M); a capitalised
    # word no paper is named by ("LLMs", "RL") is a topic, and must not narrow the list to the papers using it.
    used = [n for n in question.names if used_name(question.text, n)]
    if used:
        return _using(scored, papers, labels, used)
    names = [v.lower() for v in labels.values() if v]
    families = [w for w in re.findall(r"\b[A-Z][A-Za-z0-9.\-]*\b", question.text)
                if w.lower() not in LIST_WORDS and any(n.startswith(w.lower()) for n in names)]
    members = {k for w in families for k in family(w, papers, labels)}
    if members:
        scored = [s for s in scored if s.key in members]
    if not scored:
        return []
    topical = [t for t in question.attribute_terms() if not any(t in tokenize([f])[0] for f in families)]
    if (scoped or members) and not topical:
        return _introductions(scored, labels)
    best = max(scored, key=lambda s: s.score)
    # A topic list needs a paper that says the topic's words, not one merely near it in meaning.
    if not (scoped or (supported(best, params) and max(s.attribute for s in scored) >= params.attribute_cover)):
        return []
    return pick(scored, True, params)


def _using(scored: list[Scored], papers: dict[str, str], labels: dict[str, str | None],
           used: list[str]) -> list[Scored]:
    """One line per paper naming every name in `used`: its best sentence that names one (the papers these
    names name are left out when others use them: "which papers use Qwen2.5-VL")."""
    members = [k for k in papers if all(names(papers[k], n) for n in used)]  # "AIME": AIME24 too
    own = {k for n in used if (k := owner(n, papers, labels)) and (labels.get(k) or "").lower() == n.lower()}
    members = [k for k in members if k not in own] or members
    out: list[Scored] = []
    for key in members:
        ranked = sorted((s for s in scored if s.key == key), key=lambda s: -s.score)
        naming = [s for s in ranked if any(names(s.text, n) for n in used)]
        if naming:
            out.append(naming[0])
    return sorted(out, key=lambda s: -s.score)[:MAX_LISTED]


LIST_WORDS = {"which", "what", "list", "name", "papers", "the", "give", "identify", "show", "find", "are", "is"}


def _introductions(scored: list[Scored], labels: dict[str, str | None]) -> list[Scored]:
    """One sentence per paper that says what it is: the one introducing it (a finding too when it has no name)."""
    out: list[Scored] = []
    for s in summary_of(scored, per_paper=2):
        if not any(c.key == s.key for c in out) or (labels.get(s.key) is None and sum(c.key == s.key for c in out) < 2):
            out.append(s)
    return out[: 2 * MAX_LISTED]


def extract(question: str, question_vec: list[float], papers: dict[str, str], index: BM25Index,
            embed: EmbedFn, scoped: bool, labels: dict[str, str | None], params: Params = PARAMS) -> Extract:
    """Choose the supporting sentences for `question` from the retrieved papers, or none (refusal).

    `papers`: doc key -> abstract of each retrieved paper, best first.
    `scoped`: the search was limited to pinned IDs or dates, so every paper is on topic.
    `labels`: a short name of each paper (its title, or what its abstract introduces).
    """
    question = recased(question, [*papers.values(), *(v for v in labels.values() if v)])  # "qwen3": Qwen3
    q = with_labels(parse(question), labels)
    keys, owned = _pool_keys(q, papers, labels)
    if q.described and (keys is None or owned):  # no paper is so described: its words are asked about
        q = replace(q, described=[])
    scored = score_sentences(q, question_vec, papers, index, embed, params, list(owned))
    best = max(scored, key=lambda s: s.score, default=None)
    missing = unknown_names(q, papers, labels) if scored else []
    if best is None or missing:
        return Extract([], q.kind is Kind.LIST, best, missing)
    pool = scored if keys is None else [s for s in scored if s.key in keys]
    if q.kind is Kind.LIST and not q.unstated and not (owned and q.names_papers is False):
        return Extract(_listing(q, scored, papers, labels, scoped, params), True, best, missing)
    if q.kind is Kind.LIST and owned and not q.names_papers:  # "which datasets (of StyleSpeaker)?": names
        q = replace(q, names_asked=True)
    pool = evidence_filter(q, pool)
    if not pool:
        return Extract([], False, best, [p.pattern for p in q.unstated])
    split = sub_questions(q.text)
    if q.kind is Kind.EXPANSION and q.acronym and len(split) < 2:
        found = _expanded(q.acronym, pool)
        if found:
            return found
    if (owned or scoped) and asks_about(q, list(owned)):
        about = summary_of(pool, lead=asks_problem(q), prefer=_preferred_cues(q.text))
        # "What is WorldPM?": the sentence spelling the name out says what it is
        spelled = [s for name in owned for s in sorted(pool, key=lambda s: s.index) if expansion(name, s.text)][:1]
        return Extract([*spelled, *(s for s in about if s not in spelled)][:MAX_SENTENCES], False, best, missing)
    parts = [with_labels(replace(parse(p), names=q.names), labels) for p in split] or [q]
    chosen: list[Scored] = []
    prefix = None
    for part in parts:
        # "What does the name MARGE refer to, and ...?": its expansion, then the rest
        if part is not q and part.kind is Kind.EXPANSION and part.acronym:
            found = _expanded(part.acronym, pool)
            if found:
                prefix = prefix or (found.prefix if not chosen else None)
                chosen += [s for s in found.chosen if s.text not in {c.text for c in chosen}]
                continue
        # "what does X propose, and ...": what it is about, then the rest
        if part is not q and (owned or scoped) and asks_about(part, list(owned), strict=True):
            chosen += [s for s in summary_of(pool, per_paper=1, lead=asks_problem(part))
                       if s.text not in {c.text for c in chosen}][:2]
            continue
        scored_part = pool if part is q else evidence_filter(part, score_sentences(
            part, embed([part.text])[0], {k: papers[k] for k in dict.fromkeys(s.key for s in pool)}, index, embed,
            params, list(owned)))  # a detail abstracts rarely state, asked in a part: its evidence, too
        # "PolyMath and MTR-Bench: how many languages does PolyMath span, and ...": each part of its own subjects
        asked = part.text.rsplit(":", 1)[-1]  # "Two benchmarks, PolyMath and MTR-Bench: how many ...": after the colon
        own = {name: keys for name, keys in owned.items() if part is q or mentions(asked, name)} or owned
        chosen += [s for s in _answer_sentences(part, scored_part, own, params) if s.text not in
                   {c.text for c in chosen}]
    top = max(chosen, key=lambda s: s.score, default=max(pool, key=lambda s: s.score))
    return Extract(chosen, False, top, missing, prefix=prefix or "")


def _answer_sentences(q: Question, pool: list[Scored], owned: dict[str, list[str]], params: Params) -> list[Scored]:
    """The best sentences that answer `q`: of the kind it asks for, one per named subject at least;
    none when a subject has no sentence that answers (a refusal)."""
    owners = {k for keys in owned.values() for k in keys}
    # asked nothing specific of the one subject it names ("how big were its models?"): its own sentences close to
    # the question, names and all, answer it (several subjects are each held to what another's answer says)
    generic = len(owned) == 1 and not (q.focus or q.unstated or q.names_asked)
    candidates = [s for s in pool if supported(s, params, s.key in owners)
                  or (generic and s.key in owners and s.dense >= params.subject_near)]
    counted = q.kind is Kind.NUMBER and _HOW_MANY_RE.search(q.text) is not None
    # a score asked for is not "10 mathematics datasets": a sentence whose figures all count things gives none
    scored_for = q.kind is Kind.NUMBER and not counted and _SCORE_ASKED_RE.search(q.text) is not None
    answering = [s for s in candidates if (q.kind is not Kind.NUMBER or states_figure_of(s.text, q.focus, counted))
                 and not (counted and counts_other_things(s.text, q.focus))
                 and not (scored_for and (counts_other_things(s.text, q.focus or ["score"]) or sizes_only(s.text)))
                 and (q.new_names(s.text) if q.names_asked else has_focus(q, s, params))]
    if candidates and (q.kind is Kind.NUMBER or q.names_asked):
        # The figure or name must be near the best evidence: of its own paper for a paper the question names
        # (each named subject is answered from its own abstract), else of all.
        best_of: dict[str, float] = {}
        for s in candidates:
            best_of[s.key] = max(best_of.get(s.key, 0.0), s.score)
        best = max(best_of.values())
        answering = [s for s in answering
                     if s.score >= params.evidence_near * (best_of[s.key] if s.key in owners else best)]
    answering += _on_par(q, pool, owned, answering, params)
    if not answering or any(not any(s.key in keys or mentions(s.text, name) for s in answering)
                            for name, keys in owned.items()):
        return []
    chosen = pick(answering, False, params, q.kind is Kind.PARTS)
    for keys in owned.values():
        if not any(s.key in keys for s in chosen):
            chosen += [s for s in sorted(answering, key=lambda s: -s.score) if s.key in keys][:1]
    return _with_antecedents(chosen, pool)


def _with_antecedents(chosen: list[Scored], pool: list[Scored]) -> list[Scored]:
    """`chosen` with the sentence before each one that points back ("These merits of GSPO ...") and owes the
    asked-for words to it: that sentence says what it points at."""
    out: list[Scored] = []
    for s in chosen:
        if s in out:
            continue
        before = next((p for p in pool if p.key == s.key and p.index == s.index - 1), None) if s.borrowed else None
        if before is not None and before not in out:
            out.append(before)  # chosen too, or not: it comes first
        out.append(s)
    return out


_HOW_MANY_RE = re.compile(r"\bhow many\b", re.IGNORECASE)
# A measure asked for: not a count of things ("10 mathematics datasets") nor models' sizes ("0.6B, 4B, 8B")
_SCORE_ASKED_RE = re.compile(r"\b(?:scores?|scored|accuracy|elo|win rate|pass@\d+|percentage|dimension|dimensionality|"
                             r"latency|perplexity|throughput|error rate|speed-?ups?)\b", re.IGNORECASE)


def _on_par(q: Question, pool: list[Scored], owned: dict[str, list[str]], answering: list[Scored],
            params: Params) -> list[Scored]:
    """For a question about several named subjects, the sentence of each subject left without an answer that
    says what an accepted answer about another subject says: the same asked-for words, at least as many of them,
    and a figure when that answer is one.

    The question asks the same thing of each subject ("from Qwen2 to Qwen3"); one subject's sentence that
    carries it settles how it is worded, and another subject's sentence is held to that, not to a fixed bar.
    """
    owners = {k for keys in owned.values() for k in keys}
    settled = [s for s in answering if s.key in owners]
    if len(owned) < 2 or not settled:
        return []
    bar = min(s.attribute for s in settled)
    figure = q.kind is Kind.NUMBER or all(has_number(s.text) for s in settled)
    out: list[Scored] = []
    for keys in owned.values():
        if any(s.key in keys for s in answering):
            continue
        ok = [s for s in pool if s.key in keys and s.attribute >= bar > 0 and has_focus(q, s, params)
              and (not figure or states_figure_of(s.text, q.focus, _HOW_MANY_RE.search(q.text) is not None))]
        out += sorted(ok, key=lambda s: -s.score)[:1]
    return out


SUB_QUESTION_RE = re.compile(r",?\s+(?:and|along with)\s+(?=(?:what|which|how|on|in|who|where|when|does|do|is|are|why|"
                             r"its|their|(?:at|by|for|with|from|to|under|through|against|over|since|until)\s+(?:what|which|how|whom|where|when))\b)"
                             r"|;\s+|\?\s+(?=[A-Za-z])", re.IGNORECASE)  # ", and at what granularity", "? And ..."


def sub_questions(question: str) -> list[str]:
    """The parts of a question that asks two things ("How many X, and what does Y?")."""
    parts = [p.strip() for p in SUB_QUESTION_RE.split(question) if len(p.split()) >= 2]
    if len(parts) > 1:
        return parts
    # "What does X say about the model's predecessor and the size of its corpus?": two things asked about
    m = _ABOUT_TWO_RE.match(question)
    if m and not re.search(r"\bbetween\b", question, re.IGNORECASE):
        return [f"{m['lead']}{m['first']}?", f"{m['lead']}{m['second']}"]
    # "PolyMath: number of difficulty tiers and Gemini-2.5-pro's score?": one subject, two things asked of it
    m = _TELEGRAPHIC_RE.match(question)
    if m and not asks(m.group(2)):
        things = [t.strip(" ?") for t in re.split(r",?\s+and\s+|;\s*", m.group(2)) if t.strip(" ?")]
        if len(things) > 1:
            return [f"{m.group(1)}: {t}?" for t in things]
    return []


_ABOUT_TWO_RE = re.compile(r"^(?P<lead>.*\b(?:about|regarding|on)\s+)(?P<first>(?:the|its|their)\s[^,;?]+?)"
                           r",?\s+and\s+(?P<second>(?:the|its|their)\s[^,;]+)$", re.IGNORECASE)
_TELEGRAPHIC_RE = re.compile(r"^\s*([^:?]{1,80}):\s*([^:]+)$")


def _expanded(acronym: str, pool: list[Scored]) -> Extract | None:
    """The sentence that spells `acronym` out, led by what it stands for."""
    for s in sorted(pool, key=lambda s: -s.score):
        meaning = expansion(acronym, s.text)
        if meaning:
            return Extract([s], False, s, [], prefix=f"{acronym} stands for {meaning}.")
    return None


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
    if extract.prefix and extract.chosen:  # our reading of the sentence it rests on, cited like it
        out[0] = f"{extract.prefix.rstrip('.')} [{extract.chosen[0].key}]. {out[0]}"
    return " ".join(out)
