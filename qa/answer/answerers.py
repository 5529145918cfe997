"""Answerers: the answer step of the pipeline, extractive or LLM, behind one interface.

An `Answerer` turns retrieved passages into a `Draft`, the answer text with its [citations] and the
snippet backing each one, yielding pieces of text as it writes them when it can. It never builds
the `Answer`: the engine (`qa.answer.engine`) does, checking every citation against what was
retrieved; the answerer may then `review` the checked answer (the LLM one checks each cited claim).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from qa.answer import extractive
from qa.answer.citations import BRACKET_RE, canonical
from qa.index.bm25 import tokenize
from qa.index.retrieve import Retrieval
from qa.index.store import Store
from qa.papers import normalize_text, split_sentences
from qa.settings import Settings
from qa.types import REFUSAL, Answer, Passage

if TYPE_CHECKING:
    from qa.answer.llm import LLM

Labeller = Callable[[str], str | None]  # a paper's short name by doc key
SentenceVectors = Callable[[list[str]], list[list[float]]]


@dataclass
class Draft:
    """What an answerer wrote, before its citations are checked."""

    text: str | None = None  # the answer with its [citations]; None: the answerer declined
    snippets: dict[str, str] = field(default_factory=dict)  # per cited key, the text of its abstract backing it
    warnings: list[str] = field(default_factory=list)
    streamed: bool = False  # its pieces were yielded as they were written


DraftStream = Generator[str, None, Draft]


class Answerer(Protocol):
    """One way of answering from retrieved passages."""

    mode: str  # "extractive" | "llm", as the Answer reports it
    model: str | None  # the model that writes the answers, if one does

    def draft(self, question: str, retrieval: Retrieval, timings: dict[str, float]) -> DraftStream:
        """Answer the standalone `question` from `retrieval`, yielding pieces of text if it streams."""
        ...

    def review(self, answer: Answer, draft: Draft, retrieval: Retrieval) -> None:
        """Look over the answer built (citations checked) from `draft`: add warnings or flagged claims."""
        ...


class Extractive:
    """Quotes the sentences of the retrieved abstracts that answer the question (`qa.answer.extractive`)."""

    mode = "extractive"
    model: str | None = None

    def __init__(self, store: Store, label: Labeller, sentence_vectors: SentenceVectors,
                 params: extractive.Params) -> None:
        self.store, self.label, self.sentence_vectors, self.params = store, label, sentence_vectors, params

    def draft(self, question: str, retrieval: Retrieval, timings: dict[str, float]) -> DraftStream:
        yield from ()  # nothing streams: the engine shows the checked answer whole
        if not retrieval.passages:
            return Draft()
        vector = self.store.embed_query(question)
        labels = {key: self.label(key) for key in dict.fromkeys(p.chunk.doc_key for p in retrieval.passages)}
        papers = {key: paper.abstract for key in labels if (paper := self.store.paper(key))}
        found = extractive.extract(
            question, vector, papers, self.store.lexicon(),
            self.sentence_vectors, scoped=not retrieval.filters.empty, labels=labels, params=self.params,
        )
        if found.refused:
            return Draft()
        snippets = {s.key: " ".join(x.text for x in found.chosen if x.key == s.key) for s in found.chosen}
        return Draft(extractive.render(found, labels), snippets)

    def review(self, answer: Answer, draft: Draft, retrieval: Retrieval) -> None:
        return None


class LLMAnswerer:
    """Has a language model write the answer from the retrieved abstracts, streamed, secrets redacted."""

    mode = "llm"

    def __init__(self, llm: LLM, settings: Settings, store: Store, sentence_vectors: SentenceVectors) -> None:
        self.llm, self.settings, self.store, self.sentence_vectors = llm, settings, store, sentence_vectors
        self.model: str | None = llm.model

    def draft(self, question: str, retrieval: Retrieval, timings: dict[str, float]) -> DraftStream:
        if not retrieval.passages:
            return Draft()
        from qa.answer.llm import Redactor, build_context

        t = time.perf_counter()
        papers = {p.chunk.doc_key: self.store.paper(p.chunk.doc_key) for p in retrieval.passages}
        messages = self.llm.answer_messages(question, build_context(retrieval.passages, papers))
        pieces: list[str] = []
        redactor = Redactor(self.settings.secret_values())  # a model may be talked into echoing one
        for piece in self.llm.stream(messages):
            if not pieces:
                timings["first_token"] = time.perf_counter() - t
            pieces.append(piece)
            if safe := redactor.feed(piece):
                yield safe
        if rest := redactor.flush():
            yield rest
        draft = Draft(streamed=True)
        if sum(map(len, pieces)) >= self.settings.llm_max_reply_chars:
            draft.warnings.append(f"the model's reply was cut at {self.settings.llm_max_reply_chars:,} characters "
                                  "(ARXIV_QA_LLM_MAX_REPLY_CHARS)")
        text = redactor.scrub("".join(pieces)).strip()
        if normalize_text(REFUSAL) not in normalize_text(text):
            draft.text, draft.snippets = text, snippets_for(text, retrieval.passages)
        return draft

    def review(self, answer: Answer, draft: Draft, retrieval: Retrieval) -> None:
        """Each cited sentence checked against what was retrieved of the paper it cites."""
        if draft.text is None:
            return
        if answer.refused and draft.text:
            answer.warnings.append("the model's answer cited none of the retrieved abstracts and was withheld")
            return
        from qa.answer.claims import check_claims, cited_sources

        papers = {p.chunk.doc_key: self.store.paper(p.chunk.doc_key) for p in retrieval.passages}
        answer.unsupported_claims = check_claims(answer.answer, cited_sources(retrieval.passages, papers),
                                                 self.sentence_vectors, self.store.lexicon().idf)


def snippets_for(text: str, passages: Sequence[Passage]) -> dict[str, str]:
    """For each key an LLM answer cites, the passage sentence closest to the sentence citing it."""
    out: dict[str, str] = {}
    for sentence in re.split(r"(?<=[.!?\]])\s+", text):
        words = set(tokenize([BRACKET_RE.sub(" ", sentence)])[0])
        for match in BRACKET_RE.finditer(sentence):
            for raw in re.split(r"\s*[;,]\s*", match.group(1)):
                key = canonical(raw)
                candidates = [s for p in passages if p.chunk.doc_key == key
                              for s in split_sentences(p.chunk.text)]
                if candidates and key not in out:
                    out[key] = max(candidates, key=lambda s: len(words & set(tokenize([s])[0])))
    return out

