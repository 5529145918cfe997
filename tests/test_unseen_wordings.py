"""The extractive answerer on wordings the rules were not written from, in words that are in neither eval
split: telegraphic questions with clipped words, a change asked for that the abstract states as a figure, the
sizes of a named paper's models, a name typed in lower case with its version after a space, a follow-up that
is about another paper than the one before, and the paper the search ranks first for a question naming none.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from qa.answer.chat import needs_context
from qa.answer.engine import QA
from qa.answer.extractive import _STATED_SIZE_RE, PARAMS, score_sentences
from qa.answer.question import Kind, content_of, describes_paper, parse, recased, unclipped
from qa.index.bm25 import BM25Index
from qa.index.store import Store
from qa.settings import Settings


@pytest.fixture(scope="module")
def qa(corpus_store: Settings) -> QA:
    return QA(corpus_store, Store(corpus_store))


def cited(answer: object) -> list[str]:
    return [c.key for c in answer.citations]  # type: ignore[attr-defined]


def chat(qa: QA, *questions: str) -> list[object]:
    history: list[dict[str, str]] = []
    answers = []
    for q in questions:
        answer = qa.ask(q, history=history)
        answers.append(answer)
        history += [{"role": "user", "content": q}, {"role": "assistant", "content": answer.answer}]
    return answers


@pytest.mark.parametrize(("typed", "meant"), [
    ("parscale mem use vs param scaling?", "parscale memory use vs parameter scaling?"),
    ("# langs in polymath, and acc of the top ones?", "number of languages in polymath, and accuracy of the top ones?"),
    ("what % of tokens get gradients", "what percent of tokens get gradients"),
    ("gated attn w/o the gate: prev ctx len?", "gated attention without the gate: previous context length?"),
    ("eval'd on which benches?", "evaluated on which benchmarks?"),
    ("doc:3ec47464e6bd acc", "doc:3ec47464e6bd accuracy"),  # a key is left as it is
])
def test_clipped_words_are_written_out(typed: str, meant: str) -> None:
    assert unclipped(typed) == meant


def test_a_lower_case_name_with_its_version_after_a_space_is_a_name() -> None:
    texts = ["Qwen3 ranks in the top 5 at stage 2."]
    assert recased("llama 4 parameter count?", texts) == "Llama 4 parameter count?"
    assert recased("gemini 2.5 pro context?", texts) == "Gemini 2.5 pro context?"
    # words the abstracts write in lower case, and figures that are no version, are left alone
    assert recased("top 5 at stage 2, in the bottom 20% or 2.5 times?", texts) == \
        "top 5 at stage 2, in the bottom 20% or 2.5 times?"


def test_a_model_named_only_in_lower_case_with_a_version_is_not_answered_for(qa: QA) -> None:
    answer = qa.ask("llama 4 # params?")
    assert answer.refused, answer.answer


@pytest.mark.parametrize(("question", "figure", "key"), [
    # "gain": the abstract gives it as "+11.04", not in the word
    ("token entropy paper: gain on qwen3-32b?", "11.04", "arXiv:2506.01939"),
    # "savings": "22x less memory increase"
    ("parscale: savings in mem?", "22", "doc:3ec47464e6bd"),
])
def test_a_change_is_answered_by_the_figure_that_states_it(qa: QA, question: str, figure: str, key: str) -> None:
    answer = qa.ask(question)
    assert not answer.refused and figure in answer.answer, answer.answer
    assert cited(answer)[0] == key


def test_the_sizes_of_a_named_papers_models_are_its_stated_sizes(qa: QA) -> None:
    """"QwQ-32B" in a Qwen3 sentence is a name, not a size of Qwen3's models; "0.6 to 235 billion" is."""
    answer = qa.ask("Qwen3: tiniest and largest model, parameter-wise?")
    assert "235" in answer.answer and "0.6" in answer.answer, answer.answer
    assert cited(answer) == ["arXiv:2505.09388"]
    assert not _STATED_SIZE_RE.search("chat-optimized models (e.g., GPT-4o) and reasoning models (e.g., QwQ-32B)")
    assert not _STATED_SIZE_RE.search("trained on 18 trillion tokens and 1.2 billion tokens of code")
    assert _STATED_SIZE_RE.search("versions at 2B, 8B, and 72B parameters")


def test_a_follow_up_about_another_paper_is_searched_as_typed(qa: QA) -> None:
    """The turn before was about Qwen3; the follow-up asks for its sibling for retrieval, Qwen3 Embedding."""
    first, follow = chat(qa, "How many languages does Qwen3 handle?",
                         "does it have a sibling for text retrieval and reranking?")
    assert "119" in first.answer  # type: ignore[attr-defined]
    assert not follow.refused and cited(follow)[0] == "arXiv:2506.05176", follow.answer  # type: ignore[attr-defined]


def test_a_fragment_is_not_searched_as_typed_for_a_paper_the_chat_never_cited(qa: QA) -> None:
    """"tool's name?" after the SIMD paper, which does not name its tool: no other paper's "tool usage"."""
    *_, last = chat(qa, "the SIMD permutation paper: speedup over Numpy?", "tool's name?")
    assert last.refused, last.answer  # type: ignore[attr-defined]




def test_the_search_s_first_paper_leads_only_when_no_paper_is_named() -> None:
    """The sentences of the paper the search ranked first gain `lead`, unless the question names its subject."""
    papers = {"arXiv:2501.00001": "Alpha trains on few tokens. It is fast.",
              "arXiv:2501.00002": "Beta trains on few tokens. It is slow."}
    index = BM25Index.build(["a#0", "b#0"], list(papers.values()), list(papers), [202501, 202501])

    def embed(texts: list[str]) -> list[list[float]]:
        return [[1.0, 0.0] for _ in texts]  # every sentence as close to the question as every other

    params = replace(PARAMS, lead=0.1)
    question = parse("which work trains on few tokens?")
    scored = score_sentences(question, [1.0, 0.0], papers, index, embed, params)
    first = [s.score for s in scored if s.key == "arXiv:2501.00001"]
    second = [s.score for s in scored if s.key == "arXiv:2501.00002"]
    assert [round(a - b, 6) for a, b in zip(first, second, strict=True)] == [0.1, 0.1]
    named = score_sentences(question, [1.0, 0.0], papers, index, embed, params, subjects=["Beta"])
    assert len({round(s.score, 6) for s in named if s.index == 0}) == 1


def test_a_question_led_by_its_papers_id_is_read_from_what_follows(qa: QA) -> None:
    """"2501.15383: by how much ...": the colon left by the ID does not make it a telegraphic fragment."""
    assert content_of("2501.15383: by how much can it grow?") == "by how much can it grow?"
    answer = qa.ask("2501.15383 - how far can its extrapolation trick stretch the context, with no further training?")
    assert "four times" in answer.answer and cited(answer) == ["arXiv:2501.15383"], answer.answer


def test_who_makes_a_claim_asks_which_paper_and_who_wrote_asks_the_authors(qa: QA) -> None:
    found = qa.ask("who found that explanations in training data can make models worse?")
    assert not found.refused and cited(found)[0] == "arXiv:2505.24147", found.answer
    assert qa.ask("who wrote the rationales paper?").refused


@pytest.mark.parametrize(("question", "key"), [
    ("the one that renders legible lettering in its pictures?", "arXiv:2508.02324"),
])
def test_a_thing_described_without_a_question_word_asks_which_one(qa: QA, question: str, key: str) -> None:
    answer = qa.ask(question)
    assert not answer.refused and cited(answer)[0] == key, answer.answer


@pytest.mark.parametrize(("question", "leans"), [
    ("is there a benchmark here that tests coding in many languages?", False),  # "that" opens a clause
    ("is there a dataset in the corpus that covers speech?", False),
    ("are there any tools that rewrite permutations?", False),
    ("is there a version of it for speech?", True),
])
def test_a_question_asking_for_a_paper_by_what_it_is_needs_no_context(question: str, leans: bool) -> None:
    assert needs_context(question) is leans


def test_how_a_paper_improves_on_its_predecessor_is_what_its_own_abstract_says_is_new(qa: QA) -> None:
    answer = qa.ask("how did Qwen2.5-VL advance over Qwen2-VL?")
    assert cited(answer) == ["arXiv:2502.13923"], answer.answer  # the newer one's abstract, not the older one's


def test_the_smallest_of_a_papers_models_needs_a_stated_size(qa: QA) -> None:
    """Qwen2.5-VL "is available in three sizes" and names none: the smallest of them is not given."""
    first, last = chat(qa, "In how many sizes is Qwen2.5-VL offered?", "and the smallest of those three?")
    assert "three sizes" in first.answer  # type: ignore[attr-defined]
    assert last.refused, last.answer  # type: ignore[attr-defined]
    # a benchmark's size is no model's: "how big" is answered by what it counts
    bench = qa.ask("how big is the MTR-Bench benchmark?")
    assert "3600" in bench.answer, bench.answer


def test_that_model_after_a_head_naming_one_points_at_it() -> None:
    """"It's ... X — what does that model ...?": what is asked points at X, whatever "It" pointed at before."""
    assert not needs_context("It was measured against Qwen2-VL \u2014 how big is that model?")
    assert needs_context("It beats Qwen2 \u2014 by how much?")  # the margin of the one before


def test_a_follow_up_on_a_paper_with_no_name_is_pinned_to_its_id(qa: QA) -> None:
    """The rationales paper names no model or method: "where's its code?" is asked of its arXiv ID."""
    _, code = chat(qa, "What does the study of training with rationales conclude?", "and the code, where is it?")
    assert "Ignoramus0817" in code.answer and cited(code) == ["arXiv:2505.24147"], code.answer  # type: ignore[attr-defined]
    assert code.standalone_question.endswith("(regarding arXiv:2505.24147)")  # type: ignore[attr-defined]


@pytest.mark.parametrize("question", ["where does GPT-4o-mini show up?", "gpt-4o-mini comes up in which papers?"])
def test_where_a_name_shows_up_lists_the_papers_mentioning_it(qa: QA, question: str) -> None:
    answer = qa.ask(question)
    assert answer.answer.startswith("These abstracts match:"), answer.answer
    assert set(cited(answer)) >= {"doc:73d486c3a6a6", "arXiv:2501.15383"}
    assert unclipped("where does it show up?") == "where does it show up?"  # a pronoun: the chat's to resolve


def test_a_difference_asked_for_is_answered_by_the_sentence_that_contrasts(qa: QA) -> None:
    """"Unlike previous algorithms ..., GSPO ...": the difference, though it does not name GRPO."""
    answer = qa.ask("In what way is GSPO different from GRPO?")
    assert answer.answer.startswith("Unlike previous algorithms"), answer.answer
    assert "sequence" in answer.answer


def test_what_a_study_found_is_answered_by_its_finding(qa: QA) -> None:
    """"Our central finding is that ... a head-specific sigmoid gate ...": the finding, not the set-up."""
    answer = qa.ask("Which simple change to softmax attention did the gating study find reliably helpful?")
    assert "sigmoid gate" in answer.answer and cited(answer) == ["doc:6fe1fa34c349"], answer.answer


@pytest.mark.parametrize(("question", "described"), [
    ("ok. entropy paper, what share of tokens?", True),  # a paper named by its topic, with no "the"
    ("simd study: speedup?", True),
    ("which paper reports a speedup?", False),
    ("and the same paper: its speedup?", False),  # points back, describes nothing
])
def test_a_paper_named_by_its_topic_opens_a_telegraphic_question(question: str, described: bool) -> None:
    assert describes_paper(question) is described


def test_a_one_line_summary_asked_for_is_a_summary(qa: QA) -> None:
    answer = qa.ask("gspo in one sentence?")
    assert parse("gspo in one sentence?").kind is Kind.SUMMARY
    assert not answer.refused and cited(answer) == ["arXiv:2507.18071"], answer.answer


def test_a_follow_up_describing_its_own_paper_is_not_about_the_one_before(qa: QA) -> None:
    assert not needs_context("ok. entropy paper, share of tokens?")
    *_, last = chat(qa, "How much faster than Numpy is the SIMD permutation toolkit?",
                    "ok. entropy paper, share of tokens?")
    assert last.standalone_question is None, last.standalone_question  # type: ignore[attr-defined]
    assert cited(last) == ["arXiv:2506.01939"], last.answer  # type: ignore[attr-defined]


def test_why_is_answered_by_the_sentence_giving_the_cause(qa: QA) -> None:
    answer = qa.ask("why do high-entropy tokens matter so much in RLVR?")
    assert answer.answer.startswith("These findings indicate that the efficacy of RLVR primarily arises from"), \
        answer.answer


def test_the_models_built_on_it_are_the_topics_sibling(qa: QA) -> None:
    """"and the embedding models built on it" after Qwen3: Qwen3 Embedding, whatever "it" pointed at."""
    *_, last = chat(qa, "How many languages does Qwen3 cover?",
                    "and the embedding models built on it: which line do they follow?")
    assert cited(last) == ["arXiv:2506.05176"] and "GTE-Qwen" in last.answer, last.answer  # type: ignore[attr-defined]


def test_which_languages_is_answered_by_the_sentence_naming_them(qa: QA) -> None:
    """"large language models" names no language; "supports both Chinese and English" does."""
    answer = qa.ask("what languages can the Qwen2.5-Math instruct models work in?")
    assert "Chinese and English" in answer.answer, answer.answer


def test_what_a_paper_released_is_answered_by_its_release_sentence(qa: QA) -> None:
    answer = qa.ask("Did the gated attention authors share anything?")
    assert "release related codes" in answer.answer and cited(answer) == ["doc:6fe1fa34c349"], answer.answer
    assert qa.ask("Who are the authors of the gated attention paper?").refused


def test_a_follow_up_asked_as_typed_keeps_only_an_answer_about_the_chat_s_papers(qa: QA) -> None:
    """Asked as typed, "did they release the 72B checkpoint publicly?" finds other papers' release sentences:
    it points back at the chat's paper (WorldPM), so they are no answer. A sibling of the chat's paper is."""
    worldpm = [{"role": "user", "content": "What does WorldPM scale?"},
               {"role": "assistant", "content": "It scales preference modeling. [arXiv:2505.10527]"}]
    typed = "did they release the 72B checkpoint publicly?"
    found = qa.ask(typed)
    assert not found.refused and "arXiv:2505.10527" not in cited(found)
    assert not qa._kept_as_typed(typed, worldpm, found)
    qwen3 = [{"role": "user", "content": "Qwen3 languages?"},
             {"role": "assistant", "content": "119. [arXiv:2505.09388]"}]
    sibling = qa.ask("does it have a sibling for text retrieval and reranking?")
    assert cited(sibling)[0] == "arXiv:2506.05176"
    assert qa._kept_as_typed("does it have a sibling for text retrieval and reranking?", qwen3, sibling)
