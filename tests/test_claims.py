"""Claim checks for LLM answers (qa.answer.claims): the scorer on real sentences of the bundled corpus,
then end to end with a local OpenAI-compatible server returning supported, half-supported and
invented claims, as the chat, the Answer JSON and Slack show them."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from pydantic import SecretStr

from qa.answer import claims as c
from qa.answer.engine import QA
from qa.answer.variants import disagreement_note
from qa.index.store import Store
from qa.settings import Settings
from qa.types import Answer, UnsupportedClaim
from tests.fakes.openai_server import FakeOpenAI, Reply
from ui.slack.format import render_answer
from ui.web.render import answer_html

QWEN3 = "arXiv:2505.09388"
QWEN25_1M = "arXiv:2501.15383"
# Sentences of the Qwen3 abstract, as the bundled corpus has them.
SERIES = ("The Qwen3 series includes models of both dense and Mixture-of-Expert (MoE) architectures, "
          "with parameter scales ranging from 0.6 to 235 billion.")
LANGUAGES = ("Compared to its predecessor Qwen2.5, Qwen3 expands multilingual support from 29 to 119 languages "
             "and dialects.")
MARS = "Qwen3 was trained on Mars."
WRONG_NUMBER = "Qwen3 supports 250 languages."


@pytest.fixture(scope="module")
def qa(corpus_store: Settings) -> QA:
    return QA(corpus_store, Store(corpus_store))


@pytest.fixture(scope="module")
def sources(qa: QA) -> dict[str, c.Source]:
    retrieval = qa.retriever.retrieve("How many languages does Qwen3 support, and what context does Qwen2.5-1M take?")
    papers = {p.chunk.doc_key: qa.store.paper(p.chunk.doc_key) for p in retrieval.passages}
    found = c.cited_sources(retrieval.passages, papers)
    assert {QWEN3, QWEN25_1M} <= set(found)
    return found


def score(qa: QA, claim: str, source: c.Source) -> float:
    return c.support(claim, source, qa._sentence_vectors, qa.store.lexicon().idf)


# --- the pieces ---

def test_claims_are_the_sentences_that_cite() -> None:
    text = (f"Qwen3 is the latest Qwen family [{QWEN3}]. It is impressive. Qwen3 supports 119 languages. [{QWEN3}]\n"
            f"- Qwen2.5-1M reaches 1M tokens [{QWEN25_1M}; {QWEN3}]\n\n"
            f"{c.ENGINE_NOTE} one copy says “x”, another says “y” [{QWEN3}].")
    got = c.claims(text)
    assert [x.sentence for x in got] == [f"Qwen3 is the latest Qwen family [{QWEN3}].",
                                         f"Qwen3 supports 119 languages. [{QWEN3}]",
                                         f"Qwen2.5-1M reaches 1M tokens [{QWEN25_1M}; {QWEN3}]"]
    assert [x.text for x in got] == ["Qwen3 is the latest Qwen family.", "Qwen3 supports 119 languages.",
                                     "Qwen2.5-1M reaches 1M tokens"]
    assert [x.keys for x in got] == [[QWEN3], [QWEN3], [QWEN25_1M, QWEN3]]


def test_the_engines_disagreement_note_is_not_a_claim(qa: QA) -> None:
    paper = qa.store.paper("arXiv:2501.01257")  # CodeElo: two copies disagree on 20 vs 25 percent
    assert paper is not None
    sentence = next(s for s in c.split_sentences(paper.abstract) if "percent" in s)
    note = disagreement_note(paper, sentence)
    assert note is not None and note.startswith(c.ENGINE_NOTE) and c.claims(note) == []


def test_figures_are_values_not_digits_in_names() -> None:
    assert c.figures("Qwen2.5 and Qwen3 span 0.6 to 235 billion, 3x faster on 1,000 tokens for 20% of GPT-4o") == [
        (Decimal("0.6"), Decimal("0.6")), (Decimal(235), Decimal(235 * 10**9)), (Decimal(3), Decimal(3)),
        (Decimal(1000), Decimal(1000)), (Decimal(20), Decimal(20)), (Decimal(4), Decimal(4))]


def test_a_number_must_be_stated_by_the_cited_text(sources: dict[str, c.Source]) -> None:
    qwen3, qwen25 = sources[QWEN3].text, sources[QWEN25_1M].text
    assert c.missing_numbers(WRONG_NUMBER, qwen3) == [Decimal(250)]
    assert c.missing_numbers("Qwen3 supports 119 languages, up from 29.", qwen3) == []
    assert c.missing_numbers("The largest Qwen3 model has 235B parameters.", qwen3) == []  # 235 billion
    assert c.missing_numbers("Qwen3 was released in May 2025.", qwen3) == []  # the paper's date
    assert c.missing_numbers("Its framework extends context 4x without training.", qwen25) == []  # "four times"
    assert c.missing_numbers("Its framework extends context 5x without training.", qwen25) == [Decimal(5)]


def test_lexical_support_on_corpus_sentences(sources: dict[str, c.Source]) -> None:
    qwen3 = sources[QWEN3].text
    assert c.lexical_support(SERIES, qwen3) == 1.0
    assert c.lexical_support(LANGUAGES, qwen3) == 1.0
    assert c.lexical_support(MARS, qwen3) == 0.0  # neither "trained" nor "Mars" is in it; the name is neutral
    assert c.lexical_support(WRONG_NUMBER, qwen3) < c.lexical_support("Qwen3 supports 119 languages.", qwen3)
    assert c.lexical_support(SERIES, sources[QWEN25_1M].text) < 0.5


def test_support_separates_true_and_invented_claims(qa: QA, sources: dict[str, c.Source]) -> None:
    qwen3 = sources[QWEN3]
    true = [SERIES, LANGUAGES, "Qwen3 includes dense and MoE models from 0.6 to 235 billion parameters.",
            "Qwen3 unifies a thinking mode and a non-thinking mode in one framework."]
    for claim in true:
        assert score(qa, claim, qwen3) >= c.SUPPORT_THRESHOLD, claim
    for claim in [MARS, "Qwen3 is a protein folding model trained on microscope images.",
                  "Qwen3 extends the context length with a sparse attention method."]:
        assert 0 < score(qa, claim, qwen3) < c.SUPPORT_THRESHOLD, claim
    assert score(qa, WRONG_NUMBER, qwen3) == 0.0
    assert score(qa, SERIES, sources[QWEN25_1M]) < c.SUPPORT_THRESHOLD  # a true fact of another paper


def test_a_sentence_citing_two_papers_is_checked_against_both(qa: QA, sources: dict[str, c.Source]) -> None:
    text = (f"Qwen3 supports 119 languages and Qwen2.5-1M extends the context length to 1 million tokens "
            f"[{QWEN3}; {QWEN25_1M}]. Qwen3 was trained on Mars [{QWEN25_1M}; {QWEN3}].")
    (flagged,) = c.check_claims(text, sources, qa._sentence_vectors, qa.store.lexicon().idf)
    assert flagged.sentence == f"Qwen3 was trained on Mars [{QWEN25_1M}; {QWEN3}]."
    assert flagged.key == QWEN3  # the paper it is about (the one whose text has the name it uses)


# --- end to end: the fake endpoint's answers, as the Answer, its JSON, the chat and Slack show them ---

@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as srv:
        yield srv


def ask(qa: QA, fake: FakeOpenAI, reply: str,
        question: str = "What is Qwen3?") -> tuple[Answer, dict[str, Any], str, str]:
    """The LLM answer when the endpoint replies `reply`: the Answer, its JSON, its chat HTML, its Slack text."""
    fake.script = [Reply(reply)]
    settings = qa.settings.model_copy(update={"openai_base_url": fake.base_url, "openai_api_key": SecretStr("sk-x"),
                                              "llm_timeout": 5.0})
    answer = QA(settings, qa.store).ask(question, mode="llm")
    assert answer.mode == "llm" and not answer.refused
    return answer, answer.to_dict(), answer_html(answer), "\n".join(m.text for m in render_answer(answer))


def test_a_fully_supported_answer_flags_nothing_and_looks_as_before(qa: QA, fake: FakeOpenAI) -> None:
    reply = (f"Qwen3 is the latest version of the Qwen model family [{QWEN3}]. {SERIES[:-1]} [{QWEN3}]. "
             f"Compared to Qwen2.5, Qwen3 expands multilingual support from 29 to 119 languages and dialects "
             f"[{QWEN3}].")
    answer, body, html, slack = ask(qa, fake, reply)
    assert answer.unsupported_claims == [] and body["unsupported_claims"] == []
    assert "unsupported" not in html and "Not supported" not in html and "Not supported" not in slack


def test_a_half_supported_answer_flags_exactly_the_wrong_number(qa: QA, fake: FakeOpenAI) -> None:
    reply = (f"Qwen3 integrates a thinking mode and a non-thinking mode into a unified framework [{QWEN3}]. "
             f"Qwen3 supports 250 languages [{QWEN3}].")
    answer, body, html, slack = ask(qa, fake, reply, "How many languages does Qwen3 support?")
    flagged = UnsupportedClaim(f"Qwen3 supports 250 languages [{QWEN3}].", QWEN3, 0.0)
    assert answer.unsupported_claims == [flagged]
    assert body["unsupported_claims"] == [{"sentence": flagged.sentence, "key": QWEN3, "support": 0.0}]
    assert '<span class="unsupported-claim" title="not supported by the cited abstract">Qwen3 supports 250' in html
    assert "⚠ Not supported by the cited abstract:" in html and "“Qwen3 supports 250 languages.”" in html
    assert html.count("unsupported-claim") == 1
    assert (":warning: Not supported by the cited abstract: “Qwen3 supports 250 languages.” "
            "(<https://arxiv.org/abs/2505.09388|arXiv:2505.09388>, support 0.00)") in slack


def test_an_invented_claim_citing_a_retrieved_paper_is_flagged(qa: QA, fake: FakeOpenAI) -> None:
    answer, body, html, slack = ask(qa, fake, f"Qwen3 is the latest Qwen model family [{QWEN3}]. "
                                              f"Qwen3 was trained on Mars [{QWEN3}].")
    (flagged,) = answer.unsupported_claims
    assert flagged.sentence == f"Qwen3 was trained on Mars [{QWEN3}]." and flagged.key == QWEN3
    assert 0 < flagged.support < c.SUPPORT_THRESHOLD
    assert body["unsupported_claims"][0]["support"] == flagged.support
    assert "“Qwen3 was trained on Mars.”" in html and "“Qwen3 was trained on Mars.”" in slack


def test_an_invented_id_is_still_removed_and_counted(qa: QA, fake: FakeOpenAI) -> None:
    reply = (f"Qwen3 expands multilingual support to 119 languages [{QWEN3}] as shown in [arXiv:2401.99999]. "
             "Qwen3 was trained on Mars [arXiv:2402.00001].")
    answer, body, html, _ = ask(qa, fake, reply, "How many languages does Qwen3 support?")
    assert answer.removed_citations == ["arXiv:2401.99999", "arXiv:2402.00001"]
    assert body["fabricated_citations"] == 2 and "2401.99999" not in html
    assert answer.unsupported_claims == []  # the Mars sentence now cites nothing
