"""Asking: a question (and the conversation so far) in, a checked `Answer` out.

`QA` holds what answering needs warm (store, retriever, models) and runs one short pipeline for
every front-end, timing each stage:

    rewrite (a follow-up made standalone) -> retrieve -> answer (an `Answerer`) -> check citations

The answerers (`qa.answer.answerers`: extractive, LLM) only write a `Draft`; the `Answer` is built
in one place, `_build`, where every citation is checked against the retrieved passages and notes
on disagreeing variants are added.
"""

from __future__ import annotations

import re
import time
from collections.abc import Generator, Iterable, Iterator, Sequence
from contextlib import suppress
from functools import cached_property
from typing import TYPE_CHECKING

from qa.answer import extractive
from qa.answer.answerers import Answerer, Draft, Extractive, LLMAnswerer
from qa.answer.chat import Message, needs_context, standalone_question, subjects
from qa.answer.citations import check_citations, key_url
from qa.answer.question import Kind, entities, kind_of, recased, unclipped, used_name, without_lead_in
from qa.answer.subjects import family, mentions, names, owner
from qa.answer.variants import disagreement_note
from qa.errors import BadInput, LLMError
from qa.index.retrieve import Retrieval, Retriever, parse_filters, with_controls
from qa.index.store import Store
from qa.papers import Paper, namelike, paper_label, split_sentences
from qa.settings import MAX_K, Settings
from qa.types import REFUSAL, Answer, Citation, Filters

_LOWER_NAME_RE = re.compile(r"(?<![\w.\-])[a-z][a-z0-9.\-]*[a-z0-9](?![\w\-])")  # a word typed in lower case


if TYPE_CHECKING:
    from qa.answer.llm import LLM

AnswerStream = Generator[str, None, Answer]


class QA:
    """The question-answering engine over one store."""

    def __init__(self, settings: Settings | None = None, store: Store | None = None) -> None:
        self.settings = settings or Settings()
        self.store = store or Store(self.settings)
        self.retriever = Retriever(self.store)
        self._vector_cache: dict[str, list[float]] = {}
        self._known_names: dict[str, bool] = {}
        self._known_for: object = None
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
            mode: str | None = None, months: tuple[int | None, int | None] = (None, None), *,
            category: str | None = None, author: str | None = None) -> Answer:
        """Answer one question; `history` is the conversation so far (role/content dicts).

        `months` limits the search to a range of YYYYMM (inclusive), as a date filter control does;
        `category` (cs.CL, or an archive: cs) and `author` (a name or part of one) to the papers they name.
        """
        for item in self.stream(question, history, k, mode, months, category=category, author=author):
            if isinstance(item, Answer):
                return item
        raise AssertionError("stream ended without an answer")  # pragma: no cover

    def stream(self, question: str, history: Sequence[Message] = (), k: int | None = None,
               mode: str | None = None, months: tuple[int | None, int | None] = (None, None), *,
               category: str | None = None, author: str | None = None) -> Iterator[str | Answer]:
        """Yield pieces of answer text as they are produced, then the checked `Answer`.

        The pieces are a preview; the final Answer's text is authoritative (citations checked).
        """
        start = time.perf_counter()
        question = self.validate(question)
        fallback = (mode or self.settings.mode) == "auto"
        mode = self.resolve_mode(mode)
        if k is not None and not 1 <= k <= MAX_K:
            raise BadInput(f"k must be between 1 and {MAX_K}")
        timings: dict[str, float] = {}
        standalone = self._standalone(question, history, mode, timings)
        filters = with_controls(parse_filters(standalone), months, category, author)
        retrieval = self.retrieve(standalone, k, filters)
        timings.update(retrieval.timings)
        answer = yield from self._answer(question, standalone, retrieval, mode, fallback, timings)
        answer.standalone_question = standalone if standalone != question else None
        answer.timings["total"] = time.perf_counter() - start
        yield answer

    def _answer(self, question: str, standalone: str, retrieval: Retrieval, mode: str, fallback: bool,
                timings: dict[str, float]) -> AnswerStream:
        try:
            return (yield from self._run(self.answerer(mode), question, standalone, retrieval, timings))
        except LLMError as e:
            if mode == "extractive" or not fallback:
                raise
            answer = yield from self._run(self.answerer("extractive"), question, standalone, retrieval, timings)
            answer.warnings.append(f"{e}; answered extractively instead")
            return answer

    def answerer(self, mode: str) -> Answerer:
        """The answerer of a resolved `mode` ("extractive" or "llm"), over this engine's store and models."""
        if mode == "llm":
            return LLMAnswerer(self.llm, self.settings, self.store, self._sentence_vectors)
        return Extractive(self.store, self.label, self._sentence_vectors, self.params)

    def _run(self, answerer: Answerer, question: str, standalone: str, retrieval: Retrieval,
             timings: dict[str, float]) -> AnswerStream:
        """The answer step: `answerer` drafts (streaming if it can), the Answer is built, the answerer reviews it."""
        t = time.perf_counter()
        draft = yield from answerer.draft(standalone, retrieval, timings)
        answer = self._build(question, retrieval, answerer, draft, timings)
        answerer.review(answer, draft, retrieval)
        timings["answer"] = time.perf_counter() - t
        if not draft.streamed:
            yield answer.answer
        return answer

    def answer_retrieved(self, question: str, retrieval: Retrieval, mode: str = "extractive") -> Answer:
        """Answer a standalone `question` from passages already retrieved (calibration varies only this step)."""
        stream = self._run(self.answerer(mode), question, question, retrieval, {})
        while True:
            try:
                next(stream)
            except StopIteration as done:
                answer: Answer = done.value
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

    def _recased(self, question: str) -> str:
        """The question with the names it types in lower case written as the store writes them ("qwen2 vs
        qwen3": Qwen2 vs Qwen3), read off the papers a lexical search for it, and for each such word with a
        digit, finds."""
        typed = [w for w in _LOWER_NAME_RE.findall(question) if any(c.isdigit() for c in w)]
        if not typed and any(c.isupper() for c in question):  # names are capitalised where the rest is
            return question
        ids = [i for query in [question, *typed[:4]] for i, _ in self.store.lexical_search(query, 30)]
        papers, labels = self._abstracts(c.doc_key for c in self.store.chunks(list(dict.fromkeys(ids))).values())
        return recased(question, [*papers.values(), *(v for v in labels.values() if v)])

    def _topic(self, question: str, cited: list[str]) -> str | None:
        """What a turn was about: the cited paper as its question named it, else that paper's label."""
        papers, labels = self._abstracts(cited)
        said = [label for label in labels.values() if label and mentions(question, label)]
        if said:
            return max(said, key=len)
        for name in subjects(question):
            key = owner(name, papers, labels)
            label = labels.get(key) if key else None
            family = [v for v in labels.values() if v and v.lower().startswith(name.lower())]
            if len(family) > 1 and (label or "").lower() != name.lower():
                continue  # "a Qwen model" names a family of the cited papers, not one of them
            # the paper as the question named it ("Qwen2.5", not its sibling "Qwen2.5-Coder"), but not a part of
            # it that its abstract names ("the Talker" of Qwen2.5-Omni): that is the paper's own name
            if key and (not label or not namelike(label) or label.lower().startswith(name.lower())):
                return name
            if key:
                return label
        return next((label for key in cited if (label := labels.get(key))), None)

    def retrieve(self, question: str, k: int | None = None, filters: Filters | None = None) -> Retrieval:
        """The passages a standalone `question` is answered from: the retriever's, and a passage of each paper
        it names that they lack."""
        # "ok, qwen2 vs qwen3 params?": Qwen2 vs Qwen3 parameters
        question = self._recased(unclipped(without_lead_in(question)))
        listing = kind_of(question) is Kind.LIST
        if k is None and listing:
            k = max(self.settings.top_k, extractive.MAX_LISTED)  # "every paper of 2024": room for each of them
        retrieval = self.retriever.retrieve(question, k, filters)
        self._cover_subjects(question, retrieval)
        if listing:
            self._cover_mentions(question, retrieval)
        return retrieval

    def _cover_mentions(self, question: str, retrieval: Retrieval) -> None:
        """For a list of the papers that use a name ("which papers evaluate on AIME?"), bring in each paper a
        search for the name alone finds that names it: one search for the whole question ranks papers by the
        rest of its words, and the list is of every paper naming it."""
        if not retrieval.passages:
            return
        t = time.perf_counter()
        have = {p.chunk.doc_key for p in retrieval.passages}
        for name in entities(question)[:4]:
            used = used_name(question, name)
            found = self.retriever.retrieve(name, MAX_K, retrieval.filters).passages
            if used:
                members = {k for k in dict.fromkeys(p.chunk.doc_key for p in found)
                           if k not in have and (paper := self.store.paper(k)) and names(paper.abstract, name)}
            else:  # a family ("which Qwen2.5 papers"): the papers whose own name starts with it (Qwen2.5-Omni)
                papers, labels = self._abstracts(p.chunk.doc_key for p in found if p.chunk.doc_key not in have)
                members = set(family(name, papers, labels))
            for passage in found:
                if passage.chunk.doc_key in members - have:
                    retrieval.passages.append(passage)
                    have.add(passage.chunk.doc_key)
        retrieval.timings["mentions"] = time.perf_counter() - t

    def _cover_subjects(self, question: str, retrieval: Retrieval) -> None:
        """Give each paper the question names a passage: a name whose own paper is not among the retrieved
        ones (only siblings: "Qwen3 Embedding" for "Qwen3"), and whose own paper a search for the name alone
        finds, brings that paper's best passage in. "Compare Qwen2 and Qwen3" needs both papers, and one
        search for the whole question can fill its places with one; a name no paper is about (a benchmark,
        a rival model) brings nothing."""
        if not retrieval.passages:
            return
        t = time.perf_counter()
        papers, labels = self._abstracts(p.chunk.doc_key for p in retrieval.passages)
        for name in entities(question)[:4]:
            if owner(name, papers, labels):
                continue  # its own paper is in
            found = self.retriever.retrieve(name, 8, retrieval.filters).passages
            near, near_labels = self._abstracts(p.chunk.doc_key for p in found)
            key = owner(name, near, near_labels)
            if key and key not in papers:
                retrieval.passages.append(next(p for p in found if p.chunk.doc_key == key))
                papers[key], labels[key] = near[key], near_labels[key]
        retrieval.timings["subjects"] = time.perf_counter() - t

    def _abstracts(self, keys: Iterable[str]) -> tuple[dict[str, str], dict[str, str | None]]:
        """The abstract and the label of each stored paper among `keys` (as `owner` takes them)."""
        papers = {key: paper.abstract for key in dict.fromkeys(keys) if (paper := self.store.paper(key))}
        return papers, {key: self.label(key) for key in papers}

    def _names_a_paper(self, name: str) -> bool:
        """Is `name` some stored paper's own name (its label, or the name it uses most)? Remembered: a
        conversation's earlier turns are read again at each follow-up."""
        lexicon = self.store.lexicon()  # a new index (the store changed) forgets what was known
        if self._known_for is not lexicon:
            self._known_names, self._known_for = {}, lexicon
        known = self._known_names
        if name not in known:
            if len(known) > 4096:
                known.clear()
            hits = self.store.lexical_search(name, 20)
            papers, labels = self._abstracts(c.doc_key for c in self.store.chunks([i for i, _ in hits]).values())
            known[name] = owner(name, papers, labels) is not None
        return known[name]

    # --- shared ---
    def _sentence_vectors(self, texts: list[str]) -> list[list[float]]:
        """Embeddings of abstract sentences, remembered: the same papers come up again and again."""
        cache = self._vector_cache
        todo = list(dict.fromkeys(t for t in texts if t not in cache))
        if todo:
            if len(cache) > 50_000:
                cache.clear()
            cache.update(zip(todo, self.store.embed_texts(todo), strict=True))
        return [cache[t] for t in texts]

    def label(self, key: str) -> str | None:
        """A short name of a paper: its title, or what its abstract introduces."""
        paper = self.store.paper(key)
        return (paper.title or paper_label(paper.abstract)) if paper else None

    def _nothing_found(self, retrieval: Retrieval) -> str:
        if retrieval.no_papers_in_months or retrieval.no_papers_matching:
            return f"No {retrieval.filters.papers()} in the store."
        if not retrieval.missing_ids:
            return REFUSAL
        notes = []
        for arxiv_id in retrieval.missing_ids:
            where = [p.doc_key for p in self.store.mentioning(arxiv_id)]
            seen = f" (it is only mentioned in the comments of {', '.join(where)})" if where else ""
            notes.append(f"arXiv:{arxiv_id} is not in the corpus{seen}.")
        return " ".join(notes) + " The abstracts cannot answer this question."

    def _build(self, question: str, retrieval: Retrieval, answerer: Answerer, draft: Draft,
               timings: dict[str, float]) -> Answer:
        """The Answer to `question` from `draft`: a refusal unless it cites, validly, what was retrieved."""
        answer = Answer(question, self._nothing_found(retrieval), True, answerer.mode, passages=retrieval.passages,
                        timings=timings, model=answerer.model, warnings=list(draft.warnings),
                        filters=retrieval.filters)
        if draft.text is not None:
            self._finish(answer, draft.text, draft.snippets)
        return answer

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
            answer.citations.append(Citation.of(key, paper, self.label(key), key_url(key), snippet))
            note = self._variant_note(paper, snippet, checked.text)
            if note:
                notes.append(note)
        answer.answer = "\n\n".join([checked.text, *notes])
        answer.refused = False

    @staticmethod
    def _variant_note(paper: Paper | None, snippet: str, text: str) -> str | None:
        if paper is None or len(paper.variants) < 2:
            return None
        notes = [disagreement_note(paper, s) for s in split_sentences(snippet)]
        note = next((n for n in notes if n), None)
        return None if note is None or "disagree" in text.lower() else note

    @cached_property
    def warm(self) -> bool:
        """Load the models and indexes now rather than on the first question."""
        self.store.warm()
        return True

