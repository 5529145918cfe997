"""Asking: a question (and the conversation so far) in, a checked `Answer` out.

`QA` holds what answering needs warm (store, retriever, models) and runs one pipeline for every
front-end: rewrite a follow-up into a standalone question, retrieve, answer (extractive or LLM),
check every citation against the retrieved passages, note disagreeing variants, time each stage.
"""

from __future__ import annotations

import re
import time
from collections.abc import Generator, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from qa.answer import extractive
from qa.answer.citations import BRACKET_RE, canonical, check_citations, key_url
from qa.answer.subjects import mentions, owner
from qa.answer.types import REFUSAL, Answer, Citation
from qa.answer.variants import disagreement_note
from qa.bm25 import tokenize
from qa.chat import Message, needs_context, standalone_question, subjects
from qa.errors import BadInput, LLMError
from qa.papers import Paper, normalize_text, paper_label
from qa.retrieve import Filters, Passage, Retrieval, Retriever, parse_filters, with_dates
from qa.settings import Settings
from qa.store import Store

if TYPE_CHECKING:
    from qa.answer.llm import LLM

AnswerStream = Generator[str, None, Answer]


@dataclass
class SearchedAnswer(Answer):
    """An `Answer` that also says what its search was limited to (`filters` in the Answer JSON)."""

    filters: Filters | None = None

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "filters": self.filters.to_dict() if self.filters else None}


class QA:
    """The question-answering engine over one store."""

    def __init__(self, settings: Settings | None = None, store: Store | None = None) -> None:
        self.settings = settings or Settings()
        self.store = store or Store(self.settings)
        self.retriever = Retriever(self.store)
        self._vector_cache: dict[str, list[float]] = {}
        self.params = extractive.PARAMS  # the extractive answerer's constants (eval/calibrate.py varies them)

    @cached_property
    def llm(self) -> LLM:
        from qa.answer.llm import LLM  # the openai client loads only when an LLM is used

        return LLM(self.settings)

    def resolve_mode(self, mode: str | None) -> str:
        """`auto` -> `llm` when an endpoint is configured, else `extractive`."""
        mode = mode or self.settings.mode
        if mode == "auto":
            return "llm" if self.settings.llm_configured else "extractive"
        if mode == "llm" and not self.settings.llm_configured:
            raise BadInput("mode llm needs OPENAI_API_KEY or OPENAI_BASE_URL (see .env.example)")
        if mode not in ("extractive", "llm"):
            raise BadInput(f"unknown mode {mode!r} (auto, extractive or llm)")
        return mode

    def validate(self, question: str) -> str:
        """The question with control characters blanked; BadInput if empty or too long."""
        cleaned = "".join(ch if ch.isprintable() else " " for ch in question).strip()
        if not cleaned:
            raise BadInput("the question is empty")
        if len(cleaned) > self.settings.max_question_chars:
            raise BadInput(f"the question is longer than {self.settings.max_question_chars} characters")
        return cleaned

    def ask(self, question: str, history: Sequence[Message] = (), k: int | None = None,
            mode: str | None = None, months: tuple[int | None, int | None] = (None, None)) -> Answer:
        """Answer one question; `history` is the conversation so far (role/content dicts).

        `months` limits the search to a range of YYYYMM (inclusive), as a date filter control does.
        """
        for item in self.stream(question, history, k, mode, months):
            if isinstance(item, Answer):
                return item
        raise AssertionError("stream ended without an answer")  # pragma: no cover

    def stream(self, question: str, history: Sequence[Message] = (), k: int | None = None,
               mode: str | None = None, months: tuple[int | None, int | None] = (None, None),
               ) -> Iterator[str | Answer]:
        """Yield pieces of answer text as they are produced, then the checked `Answer`.

        The pieces are a preview; the final Answer's text is authoritative (citations checked).
        """
        start = time.perf_counter()
        question = self.validate(question)
        fallback = (mode or self.settings.mode) == "auto"
        mode = self.resolve_mode(mode)
        if k is not None and not 1 <= k <= 50:
            raise BadInput("k must be between 1 and 50")
        timings: dict[str, float] = {}
        standalone = self._standalone(question, history, mode, timings)
        retrieval = self.retriever.retrieve(standalone, k, with_dates(parse_filters(standalone), *months))
        timings.update(retrieval.timings)
        answer = yield from self._answer(question, standalone, retrieval, mode, fallback, timings)
        answer.standalone_question = standalone if standalone != question else None
        answer.timings["total"] = time.perf_counter() - start
        yield answer

    def _answer(self, question: str, standalone: str, retrieval: Retrieval, mode: str, fallback: bool,
                timings: dict[str, float]) -> AnswerStream:
        if mode == "extractive":
            answer = self._extractive(question, standalone, retrieval, timings)
            yield answer.answer
            return answer
        try:
            return (yield from self._llm(question, standalone, retrieval, timings))
        except LLMError as e:
            if not fallback:
                raise
            answer = self._extractive(question, standalone, retrieval, timings)
            answer.warnings.append(f"{e}; answered extractively instead")
            yield answer.answer
            return answer

    def _standalone(self, question: str, history: Sequence[Message], mode: str, timings: dict[str, float]) -> str:
        t = time.perf_counter()
        rewritten = standalone_question(question, history, self._topic, self._names_a_paper)
        if mode == "llm" and history and needs_context(question, self._names_a_paper):
            # On failure the heuristic's rewrite stands; the answer step reports the endpoint's failure.
            with suppress(LLMError):
                rewritten = self.llm.rewrite(question, history) or rewritten
        timings["rewrite"] = time.perf_counter() - t
        return rewritten

    def _topic(self, question: str, cited: list[str]) -> str | None:
        """What a turn was about: the cited paper as its question named it, else that paper's label."""
        papers = {key: paper.abstract for key in cited if (paper := self.store.paper(key))}
        labels = {key: self.label(key) for key in papers}
        said = [label for label in labels.values() if label and mentions(question, label)]
        if said:
            return max(said, key=len)
        for name in subjects(question):
            if owner(name, papers, labels):
                return name
        return next((label for key in cited if (label := labels.get(key))), None)

    def _names_a_paper(self, name: str) -> bool:
        """Is `name` some stored paper's own name (its label, or the name it uses most)?"""
        hits = self.store.bm25().search(name, 20)
        keys = list(dict.fromkeys(c.doc_key for c in self.store.chunks([i for i, _ in hits]).values()))
        papers = {key: paper.abstract for key in keys if (paper := self.store.paper(key))}
        return owner(name, papers, {key: self.label(key) for key in papers}) is not None

    # --- extractive ---
    def _extractive(self, question: str, standalone: str, retrieval: Retrieval,
                    timings: dict[str, float]) -> Answer:
        t = time.perf_counter()
        answer = SearchedAnswer(question, self._nothing_found(retrieval), True, "extractive",
                                passages=retrieval.passages, timings=timings, filters=retrieval.filters)
        if retrieval.passages:
            vector = self.store.embedder.get_query_embedding(standalone)
            labels = {key: self.label(key) for key in dict.fromkeys(p.chunk.doc_key for p in retrieval.passages)}
            papers = {key: paper.abstract for key in labels if (paper := self.store.paper(key))}
            found = extractive.extract(
                standalone, vector, papers, self.store.bm25(),
                self._sentence_vectors, scoped=not retrieval.filters.empty, labels=labels, params=self.params,
            )
            if not found.refused:
                snippets = {s.key: " ".join(x.text for x in found.chosen if x.key == s.key) for s in found.chosen}
                self._finish(answer, extractive.render(found, labels), snippets)
        timings["answer"] = time.perf_counter() - t
        return answer

    def _sentence_vectors(self, texts: list[str]) -> list[list[float]]:
        """Embeddings of abstract sentences, remembered: the same papers come up again and again."""
        cache = self._vector_cache
        todo = list(dict.fromkeys(t for t in texts if t not in cache))
        if todo:
            if len(cache) > 50_000:
                cache.clear()
            cache.update(zip(todo, self.store.embedder.get_text_embedding_batch(todo), strict=True))
        return [cache[t] for t in texts]

    # --- LLM ---
    def _llm(self, question: str, standalone: str, retrieval: Retrieval, timings: dict[str, float]) -> AnswerStream:
        t = time.perf_counter()
        answer = SearchedAnswer(question, self._nothing_found(retrieval), True, "llm", passages=retrieval.passages,
                                timings=timings, model=self.llm.model, filters=retrieval.filters)
        if not retrieval.passages:
            yield answer.answer
            return answer
        from qa.answer.claims import check_claims, cited_sources
        from qa.answer.llm import Redactor, build_context

        papers = {p.chunk.doc_key: self.store.paper(p.chunk.doc_key) for p in retrieval.passages}
        messages = self.llm.answer_messages(standalone, build_context(retrieval.passages, papers))
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
        if sum(map(len, pieces)) >= self.settings.llm_max_reply_chars:
            answer.warnings.append(f"the model's reply was cut at {self.settings.llm_max_reply_chars:,} characters "
                                   "(ARXIV_QA_LLM_MAX_REPLY_CHARS)")
        text = redactor.scrub("".join(pieces)).strip()
        if normalize_text(REFUSAL) not in normalize_text(text):
            self._finish(answer, text, snippets_for(text, retrieval.passages))
            if answer.refused and text:
                answer.warnings.append("the model's answer cited none of the retrieved abstracts and was withheld")
            else:  # each cited sentence checked against what was retrieved of the paper it cites
                answer.unsupported_claims = check_claims(answer.answer, cited_sources(retrieval.passages, papers),
                                                         self._sentence_vectors, self.store.bm25().idf)
        timings["answer"] = time.perf_counter() - t
        return answer

    # --- shared ---
    def label(self, key: str) -> str | None:
        """A short name of a paper: its title, or what its abstract introduces."""
        paper = self.store.paper(key)
        return (paper.title or paper_label(paper.abstract)) if paper else None

    def _nothing_found(self, retrieval: Retrieval) -> str:
        if retrieval.no_papers_in_months:
            return f"No papers {retrieval.filters.dates()} in the store."
        if not retrieval.missing_ids:
            return REFUSAL
        notes = []
        for arxiv_id in retrieval.missing_ids:
            where = [p.doc_key for p in self.store.catalog.mentioning(arxiv_id)]
            seen = f" (it is only mentioned in the comments of {', '.join(where)})" if where else ""
            notes.append(f"arXiv:{arxiv_id} is not in the corpus{seen}.")
        return " ".join(notes) + " The abstracts cannot answer this question."

    def _finish(self, answer: Answer, text: str, snippets: dict[str, str]) -> None:
        """Check citations, build Citation objects, add variant notes; refuse if nothing valid is cited."""
        checked = check_citations(text, {p.chunk.doc_key for p in answer.passages})
        answer.removed_citations = checked.removed
        if not checked.cited:
            return
        notes = []
        for key in checked.cited:
            paper = self.store.paper(key)
            snippet = snippets.get(key) or ""
            answer.citations.append(Citation(key, paper.arxiv_id if paper else None, self.label(key),
                                             key_url(key), snippet))
            note = self._variant_note(paper, snippet, checked.text)
            if note:
                notes.append(note)
        answer.answer = "\n\n".join([checked.text, *notes])
        answer.refused = False

    @staticmethod
    def _variant_note(paper: Paper | None, snippet: str, text: str) -> str | None:
        if paper is None or len(paper.variants) < 2:
            return None
        notes = [disagreement_note(paper, s) for s in extractive.split_sentences(snippet)]
        note = next((n for n in notes if n), None)
        return None if note is None or "disagree" in text.lower() else note

    @cached_property
    def warm(self) -> bool:
        """Load the models and indexes now rather than on the first question."""
        self.store.embedder.get_query_embedding("warm up")
        self.store.bm25()
        return True


def snippets_for(text: str, passages: Sequence[Passage]) -> dict[str, str]:
    """For each key an LLM answer cites, the passage sentence closest to the sentence citing it."""
    out: dict[str, str] = {}
    for sentence in re.split(r"(?<=[.!?\]])\s+", text):
        words = set(tokenize([BRACKET_RE.sub(" ", sentence)])[0])
        for match in BRACKET_RE.finditer(sentence):
            for raw in re.split(r"\s*[;,]\s*", match.group(1)):
                key = canonical(raw)
                candidates = [s for p in passages if p.chunk.doc_key == key
                              for s in extractive.split_sentences(p.chunk.text)]
                if candidates and key not in out:
                    out[key] = max(candidates, key=lambda s: len(words & set(tokenize([s])[0])))
    return out
