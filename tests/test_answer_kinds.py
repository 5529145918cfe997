"""The extractive answerer on the kinds of question it must get right, asked in words that are in
neither eval split (eval/gold.jsonl, eval/test.jsonl): expansions, figures of the paper named (not of
a sibling whose name extends it), the parts of a method, lists of a family scoped by a month,
details no abstract states in any wording, papers not in the corpus, and follow-ups.
"""

from __future__ import annotations

import copy

import pytest

from qa.answer.chat import standalone_question
from qa.answer.engine import QA
from qa.answer.extractive import excluded, has_number, names_focus, sizes_only, states_figure_of, sub_questions
from qa.answer.question import Kind, content_of, parse, recased, unclipped, without_lead_in
from qa.index.retrieve import parse_filters
from qa.index.store import Store
from qa.settings import Settings
from qa.types import REFUSAL


@pytest.fixture(scope="module")
def qa(corpus_store: Settings) -> QA:
    return QA(corpus_store, Store(corpus_store))


def cited(answer: object) -> list[str]:
    return [c.key for c in answer.citations]  # type: ignore[attr-defined]


@pytest.mark.parametrize(("question", "acronym", "meaning", "key"), [
    ("What does GSPO stand for?", "GSPO", "Group Sequence Policy Optimization", "arXiv:2507.18071"),
    ("What does RLVR stand for?", "RLVR", "Reinforcement Learning with Verifiable Rewards", "arXiv:2506.01939"),
    ("What is the full name of the TIR reasoning mode of Qwen2.5-Math-Instruct?", "TIR", "Tool-Integrated Reasoning",
     "doc:f0ef09a8247f"),
])
def test_an_acronym_is_spelled_out(qa: QA, question: str, acronym: str, meaning: str, key: str) -> None:
    answer = qa.ask(question)
    assert answer.answer.startswith(f"{acronym} stands for {meaning}")
    assert cited(answer) == [key]


def test_a_figure_comes_from_the_paper_named_not_a_sibling(qa: QA) -> None:
    """Qwen2.5's 18 trillion tokens, not Qwen2.5-Coder's 5.5 trillion (the Coder paper names Qwen2.5 too)."""
    answer = qa.ask("How many trillion tokens was Qwen2.5 pre-trained on?")
    assert "18 trillion" in answer.answer and "5.5 trillion" not in answer.answer
    assert cited(answer) == ["doc:73d486c3a6a6"]


def test_a_number_question_is_answered_with_a_number(qa: QA) -> None:
    answer = qa.ask("What about Qwen2.5-VL: how many sizes does it come in?")
    assert "three sizes" in answer.answer and cited(answer)[0] == "arXiv:2502.13923"


@pytest.mark.parametrize(("question", "inside", "outside"), [
    ("Which Qwen papers appeared in January 2025?", {"arXiv:2501.15383"}, {"arXiv:2501.01257"}),
    ("List the Qwen papers from June 2025.", {"arXiv:2506.05176"}, {"arXiv:2506.03686", "arXiv:2506.01939"}),
])
def test_a_family_scoped_by_month_lists_its_members(qa: QA, question: str, inside: set[str],
                                                    outside: set[str]) -> None:
    """"Qwen" covers Qwen2.5-1M and Qwen3 Embedding; papers of the month outside the family are left out."""
    answer = qa.ask(question)
    assert not answer.refused and inside <= set(cited(answer)) and not outside & set(cited(answer))


def test_the_parts_of_a_method_are_named(qa: QA) -> None:
    answer = qa.ask("Which three phases does the Qwen2.5-Math self-improvement pipeline have?")
    assert all(part in answer.answer for part in ("pre-training", "post-training", "inference"))
    assert cited(answer)[0] == "doc:f0ef09a8247f"


def test_a_named_component_is_described_by_its_sentence(qa: QA) -> None:
    answer = qa.ask("What is the Talker in Qwen2.5-Omni?")
    assert "dual-track" in answer.answer and cited(answer) == ["arXiv:2503.20215"]


@pytest.mark.parametrize("question", [
    "Qwen2.5-Omni: optimizer and learning rate schedule?",          # telegraphic, two details at once
    "Give me the GPU count used to train ParScale.",                # an imperative
    "Which grant paid for the StyleSpeaker work?",
    "StyleSpeaker training hours",                                  # no verb at all
    "How much did it cost to train Qwen-Image?",
    "Tell me the batch size and weight decay used for Qwen2.5-VL.",
    "What is Llama 3's context window?",                            # named only in passing by one abstract
    "How many parameters does Chinchilla have?",                    # not in the corpus at all
    "What does BERT stand for?",
])
def test_details_no_abstract_states_are_refused_in_any_form(qa: QA, question: str) -> None:
    answer = qa.ask(question)
    assert answer.refused and answer.answer == REFUSAL and not answer.citations


def conversation(qa: QA, *questions: str) -> list[object]:
    history: list[dict[str, str]] = []
    answers = []
    for question in questions:
        answer = qa.ask(question, history=history)
        history += [{"role": "user", "content": question}, {"role": "assistant", "content": answer.answer}]
        answers.append(answer)
    return answers


def test_follow_up_keeps_the_paper_discussed_not_a_sibling(qa: QA) -> None:
    _, follow = conversation(qa, "Tell me about Qwen2.5.", "And the size of its pre-training corpus?")
    assert follow.standalone_question.endswith("(regarding Qwen2.5)")  # type: ignore[attr-defined]
    assert "18 trillion" in follow.answer and cited(follow) == ["doc:73d486c3a6a6"]  # type: ignore[attr-defined]


def test_a_refused_turn_gives_no_topic_and_loses_no_paper(qa: QA) -> None:
    first, refused, after = conversation(qa, "What is GSPO?", "Who are the people behind it?",
                                         "Which algorithm is it compared with?")
    assert not first.refused and refused.refused  # type: ignore[attr-defined]
    assert after.standalone_question == "Which algorithm is it compared with? (regarding GSPO)"  # type: ignore
    assert "GRPO" in after.answer and cited(after) == ["arXiv:2507.18071"]  # type: ignore[attr-defined]


def test_a_question_that_switches_topic_is_not_rewritten(qa: QA) -> None:
    _, switched = conversation(qa, "What is Qwen3?", "Switching to PolyMath: how many languages does it cover?")
    assert switched.standalone_question is None  # type: ignore[attr-defined]
    assert "18 languages" in switched.answer and cited(switched) == ["doc:575304d32a8f"]  # type: ignore


@pytest.mark.parametrize(("question", "kind"), [
    ("What does ABC stand for?", Kind.EXPANSION),
    ("Which papers from May 2025 study speech?", Kind.LIST),
    ("What are the three stages of the method?", Kind.PARTS),
    ("How many GPUs were used?", Kind.NUMBER),
    ("Tell me what arXiv:2506.01939 discovers.", Kind.SUMMARY),
    ("How does the gate work?", Kind.OTHER),
    ("What allows a model to choose how much memory the cache takes?", Kind.OTHER),  # the thing, not a figure
    ("Which switch sets how many experts are active?", Kind.OTHER),
    ("What is the model, and how many parameters does it have?", Kind.NUMBER),  # a second question asks one
    ("In ParScale, how much memory is saved?", Kind.NUMBER),
    ("And what is its mean vertex error?", Kind.NUMBER),  # an error asked for is a figure
    ("Which errors do the models make?", Kind.OTHER),
])
def test_the_kind_of_answer_a_question_wants(question: str, kind: Kind) -> None:
    assert parse(question).kind is kind


@pytest.mark.parametrize(("question", "asks_unstated"), [
    ("What learning rate did they use?", True),
    ("Who are the authors?", True),
    ("Which papers were published in May 2025?", False),  # a month filter, not a venue
    ("How many outputs does it generate?", False),        # "outputs" is not a TPU
    ("Where is GSPO introduced?", False),                 # which paper, not which place
    ("What KL coefficient does GSPO use?", True),         # hyper-parameters by their own names
    ("Which sampling temperature does Qwen3 use for its evaluations?", True),
    ("What is the gradient clipping norm in Qwen2.5-Math training?", True),
    ("Does GSPO clip whole sequences?", False),           # clipping is the method here, not a setting
])
def test_rarely_stated_details_are_recognised(question: str, asks_unstated: bool) -> None:
    assert bool(parse(question).unstated) is asks_unstated


@pytest.mark.parametrize("module", ["qa.answer.question", "qa.answer.subjects"])
def test_doctests(module: str) -> None:
    """The examples in the docstrings (owners of names, acronym expansions, names in questions) hold."""
    import doctest
    import importlib

    failed, tried = doctest.testmod(importlib.import_module(module), verbose=False)
    assert tried > 0 and failed == 0


@pytest.mark.parametrize(("question", "kind"), [
    ("List the May 2025 preprints.", Kind.LIST),
    ("Show the submissions of June 2025.", Kind.LIST),
])
def test_a_month_list_in_other_words_is_a_list(question: str, kind: Kind) -> None:
    assert parse(question).kind is kind


@pytest.mark.parametrize(("question", "asks_unstated"), [
    ("On which processor did the permutation toolkit run its benchmarks?", True),
    ("What CPU were the experiments timed on?", True),
    ("Can permutations be sped up with vector CPU instructions?", False),  # CPU as context, not asked for
])
def test_hardware_is_asked_only_when_asked(question: str, asks_unstated: bool) -> None:
    assert bool(parse(question).unstated) is asks_unstated


def test_a_figure_must_count_the_thing_asked_for() -> None:
    from qa.answer.extractive import states_figure_of

    assert states_figure_of("We release models with 32 experts in each layer.", ["expert"])
    assert not states_figure_of("Sizes range from 0.5 to 72 billion parameters across dense models and, "
                                "for the first time in this family of releases, sparse experts.", ["expert"])
    assert states_figure_of("It reaches 83% accuracy.", ["accuraci"])
    assert states_figure_of("The gain is 12 points.", [])  # nothing named: any figure
    assert not states_figure_of("Qwen2.5 improves over Qwen2.", [])  # versions in names are not figures


@pytest.mark.parametrize("question", ["Spell out the MTR of MTR-Bench.", "Expand the acronym MTR used by MTR-Bench."])
def test_an_acronym_spelled_out_away_from_it(qa: QA, question: str) -> None:
    """MTR-Bench's abstract gives "Multi-Turn Reasoning" later in the sentence, not beside the acronym."""
    answer = qa.ask(question)
    assert answer.answer.startswith("MTR stands for Multi-Turn Reasoning") and cited(answer) == ["doc:9faae8293108"]


def test_a_month_list_in_other_words_lists_the_month(qa: QA) -> None:
    answer = qa.ask("Show me the September 2024 preprints.")
    assert {"arXiv:2409.12186", "arXiv:2409.12191"} <= set(cited(answer))


def test_a_processor_question_is_refused(qa: QA) -> None:
    answer = qa.ask("On which processor did the SIMD permutation toolkit run its benchmarks?")
    assert answer.refused and not answer.citations


@pytest.mark.parametrize(("name", "keys", "expected"), [
    ("Qwen2", ["arXiv:2407.10671", "doc:73d486c3a6a6"], "arXiv:2407.10671"),  # Qwen2.5 is a later version
    ("Qwen2", ["doc:73d486c3a6a6", "arXiv:2409.12191"], None),  # Qwen2.5 and Qwen2-VL: neither is about Qwen2
    ("Qwen3", ["arXiv:2506.05176"], None),  # the Qwen3 Embedding paper is built on Qwen3, not about it
    ("Qwen3", ["arXiv:2505.09388", "arXiv:2506.05176"], "arXiv:2505.09388"),
    ("Qwen2.5", ["doc:73d486c3a6a6", "arXiv:2409.12186", "arXiv:2501.15383"], "doc:73d486c3a6a6"),
])
def test_a_later_version_or_a_sibling_does_not_own_a_name(qa: QA, name: str, keys: list[str],
                                                           expected: str | None) -> None:
    from qa.answer.subjects import owner

    papers = {key: qa.store.paper(key).abstract for key in keys}  # type: ignore[union-attr]
    assert owner(name, papers, {key: qa.label(key) for key in keys}) == expected


def test_each_paper_a_comparison_names_is_brought_in(qa: QA) -> None:
    """The search for the whole question finds Qwen2-VL, Qwen2.5-VL and the Qwen3 Embedding paper, not Qwen3's own."""
    assert "arXiv:2505.09388" not in {p.chunk.doc_key for p in qa.retriever.retrieve(
        "What are the sizes of Qwen2-VL and Qwen3?").passages}
    answer = qa.ask("What are the sizes of Qwen2-VL and Qwen3?")
    assert {"arXiv:2505.09388", "arXiv:2409.12191"} <= set(cited(answer))
    assert "arXiv:2506.05176" not in cited(answer) and "235 billion" in answer.answer


def test_a_subject_is_held_to_what_the_answer_about_another_says() -> None:
    """A comparison: one subject's sentence settles the wording; the other's sentence with the same words and a
    figure answers too, one without the figure does not."""
    from qa.answer.extractive import PARAMS, Scored, _answer_sentences

    q = parse("How did multilingual coverage change from Alpha-1 to Alpha-2?")
    # Half the asked-for words ("multilingual", not "coverage"): each sentence is judged by its meaning alone.
    settled = Scored("Alpha-2 expands multilingual support from 30 to 100 languages.", "b", 0, 0.5, 0.8, 0.29, 0.6)

    def other(text: str) -> Scored:
        return Scored(text, "a", 1, 0.5, 0.6, 0.29, 0.3)  # too far in meaning to answer alone

    owned = {"Alpha-1": ["a"], "Alpha-2": ["b"]}
    with_figure = other("Alpha-1 is strong in multilingual tasks, covering about 30 languages.")
    assert [s.key for s in _answer_sentences(q, [settled, with_figure], owned, PARAMS)] == ["b", "a"]
    assert _answer_sentences(q, [settled, other("Alpha-1 is strong in multilingual tasks.")], owned, PARAMS) == []


def test_a_capitalised_topic_word_does_not_narrow_a_list(qa: QA) -> None:
    """"LLMs" names no paper: the list is not cut down to the papers whose openings say "LLMs"."""
    answer = qa.ask("Which papers study speech or audio with LLMs?")
    assert not answer.refused and {"doc:3d6d4d85b2b4", "arXiv:2503.20215"} <= set(cited(answer))


def test_a_paper_is_named_by_the_series_it_presents(qa: QA) -> None:
    """"We present a series of math-specific large language models: Qwen2.5-Math and ...": not the
    Qwen2-Math-Instruct it uses most often."""
    assert qa.label("doc:f0ef09a8247f") == "Qwen2.5-Math"


@pytest.mark.parametrize(("question", "kind", "focus"), [
    ("What hidden dimension does the Qwen2.5-Math reward model use?", Kind.NUMBER, ["hidden", "dimens"]),  # a size
    ("Which dimensions of style does the method separate?", Kind.PARTS, ["style"]),
    ("How many experts does the Mixture-of-Experts model of Qwen3 route to?", Kind.NUMBER, ["expert"]),
    ("Count of preference pairs in WavReward's training set?", Kind.NUMBER, ["prefer", "pair"]),
    ("How many Qwen3 models are released?", Kind.NUMBER, []),  # a name after "how many" is the subject
    ("How many human raters judged the WavReward outputs?", Kind.NUMBER, ["human", "rater"]),  # the noun phrase
    ("State the size of the CodeElo benchmark in contests.", Kind.NUMBER, ["contest"]),  # the unit it is counted in
    ("Qwen2.5-Omni Talker: layer count?", Kind.NUMBER, ["layer"]),  # a count, telegraphic
    ("Which study finds that only a few words really count?", Kind.OTHER, []),  # "count" as a verb
])
def test_the_thing_asked_for_is_found_in_the_question(question: str, kind: Kind, focus: list[str]) -> None:
    q = parse(question)
    assert q.kind is kind and q.focus == focus


def test_a_figure_in_another_clause_does_not_count_the_thing_asked_for() -> None:
    from qa.answer.extractive import states_figure_of

    # "72 billion" sizes the suite; the experts are named in the next clause.
    assert not states_figure_of("It spans 0.5 to 72 billion, featuring dense models and a Mixture-of-Experts model.",
                                ["expert"])
    assert states_figure_of("The MoE variant activates 8 of its 128 experts, keeping inference cheap.", ["expert"])


@pytest.mark.parametrize(("question", "asks_names"), [
    ("Name the benchmarks WavReward is compared on.", True),
    ("Which closed models does Qwen2.5-VL-72B match?", True),
    ("What sort of models is StyleSpeaker built on?", False),   # a kind, not a name
    ("What model sizes does Qwen2-VL come in?", False),         # sizes are asked, not models
    ("Which three public benchmark datasets was StyleSpeaker tested on?", True),  # three words before "datasets"
    ("Which audio language model serves as WavReward's base?", True),  # a verb after the named thing
    ("Tell me what role the reward model plays in Qwen2.5-Math.", False),  # a role, not a model's name
    ("What is the long-context inference framework of Qwen2.5-1M called?", True),
])
def test_a_question_asking_which_named_things_is_recognised(question: str, asks_names: bool) -> None:
    assert parse(question).names_asked is asks_names


@pytest.mark.parametrize("question", [
    "List the public datasets StyleSpeaker reports its experiments on.",
    "StyleSpeaker: which benchmark datasets are used, and what is its lip vertex error?",
])
def test_a_sentence_that_only_counts_the_things_asked_to_be_named_is_refused(qa: QA, question: str) -> None:
    """StyleSpeaker's abstract says "three public datasets" and names none of them."""
    answer = qa.ask(question)
    assert answer.refused and not answer.citations


@pytest.mark.parametrize("question", [
    "Which three public benchmark datasets was StyleSpeaker tested on?",  # the abstract counts them, names none
    "What is the long-context inference framework of Qwen2.5-1M called?",  # the abstract gives it no name
])
def test_a_name_asked_for_that_no_abstract_gives_is_refused(qa: QA, question: str) -> None:
    answer = qa.ask(question)
    assert answer.refused and not answer.citations


def test_a_size_that_no_abstract_gives_is_refused(qa: QA) -> None:
    answer = qa.ask("What is the vector dimension of the Qwen3 Embedding models?")
    assert answer.refused and not answer.citations


def test_the_models_asked_to_be_named_are_named(qa: QA) -> None:
    answer = qa.ask("Which open models does the Qwen2.5-1M release include?")
    assert not answer.refused and "Qwen2.5-7B-Instruct-1M" in answer.answer
    assert cited(answer) == ["arXiv:2501.15383"]


def test_the_models_asked_for_are_named_whatever_the_adjective(qa: QA) -> None:
    """"closed-source" is not in the abstract: naming models the question does not is what answers it."""
    answer = qa.ask("Which closed-source systems does the flagship Qwen2.5-VL-72B model rival?")
    assert not answer.refused and "GPT-4o" in answer.answer and "arXiv:2502.13923" in cited(answer)


@pytest.mark.parametrize("question", ["What are the building blocks of the gated attention design?",
                                      "Which ingredients make up StyleSpeaker?"])
def test_building_blocks_are_parts(question: str) -> None:
    assert parse(question).kind is Kind.PARTS


def test_the_parts_of_one_method_may_take_several_of_its_sentences(qa: QA) -> None:
    """StyleSpeaker names its style encoder and its style infusion module in different sentences."""
    answer = qa.ask("What pieces make up StyleSpeaker's way of modelling style?")
    assert "style encoder" in answer.answer and "style infusion module" in answer.answer
    assert cited(answer) == ["arXiv:2503.09852"]


def test_a_growth_rate_is_a_figure() -> None:
    from qa.answer.extractive import has_number

    assert has_number("It matches scaling the parameters by O(log P).")
    assert has_number("Memory grows linearly in N.")
    assert not has_number("We log every run.")


def test_a_sentence_pointing_back_is_read_with_the_one_before(qa: QA) -> None:
    """Qwen2.5-Math: "... we develop a reward model (RM) ..." then "This RM is then applied to ... SFT"."""
    answer = qa.ask("To what is the reward model of Qwen2.5-Math applied?")
    assert "iterative evolution of data" in answer.answer and cited(answer) == ["doc:f0ef09a8247f"]


@pytest.mark.parametrize("question", ["To which three stages does the method owe its gains?",
                                      "In which two phases is the model trained?"])
def test_parts_asked_after_a_preposition(question: str) -> None:
    assert parse(question).kind is Kind.PARTS


@pytest.mark.parametrize(("question", "text"), [
    ("Could you please tell me how many layers Qwen3 has?", "how many layers Qwen3 has?"),
    ("I'd like to know which benchmarks PolyMath covers, please.", "which benchmarks PolyMath covers."),
    ("Please, what does GSPO stand for?", "what does GSPO stand for?"),
])
def test_a_polite_wrapper_is_not_read_as_the_question(question: str, text: str) -> None:
    assert parse(question).text == text


def test_a_polite_question_is_answered_as_a_plain_one(qa: QA) -> None:
    answer = qa.ask("Could you tell me how many languages and dialects Qwen3 supports, please?")
    assert "119" in answer.answer and cited(answer) == ["arXiv:2505.09388"]


@pytest.mark.parametrize(("question", "kind", "unstated"), [
    ("A short summary of the corpus's work on tensor permutation?", Kind.SUMMARY, False),
    ("What techniques does Qwen2.5-1M apply to cut the costs of inference?", Kind.PARTS, False),  # not a price
    ("What is the cost of training Qwen-Image?", Kind.OTHER, True),
    ("What are the API costs of Qwen2.5-Turbo?", Kind.OTHER, True),
])
def test_summaries_and_prices_are_recognised(question: str, kind: Kind, unstated: bool) -> None:
    q = parse(question)
    assert q.kind is kind and bool(q.unstated) is unstated


@pytest.mark.parametrize(("question", "focus", "asks_names"), [
    ("On PolyMath's hardest level, approximately what accuracy do top models achieve?", ["accuraci"], False),
    ("For the Qwen2.5-1M sparse attention, what is the method called?", [], True),
    ("Qwen2.5-1M sparse attention: the name of the method?", [], True),
    ("In the MARGE paper, which benchmarks are used?", [], True),
])
def test_the_thing_asked_for_after_a_leading_phrase(question: str, focus: list[str], asks_names: bool) -> None:
    q = parse(question)
    assert q.names_asked is asks_names and (asks_names or q.focus == focus)


def test_common_acronyms_and_their_spelled_out_words_are_not_names() -> None:
    q = parse("Name the datasets the study uses.")
    assert q.new_names("Supervised fine-tuning (SFT) aligns Large Language Models (LLMs) with humans.") == []
    assert q.new_names("It is evaluated on Alpaca-GPT4 and WildChat.") == ["Alpaca-GPT4", "WildChat"]


@pytest.mark.parametrize("question", [
    "For the Qwen2.5-1M sparse attention, what is the method called?",      # it is described, never named
    "Which paper in the collection applies diffusion models to protein folding?",  # no paper says the topic
])
def test_a_name_or_topic_no_abstract_gives_is_refused(qa: QA, question: str) -> None:
    answer = qa.ask(question)
    assert answer.refused and not answer.citations


def test_an_accuracy_asked_after_a_leading_phrase_is_answered(qa: QA) -> None:
    answer = qa.ask("On PolyMath's hardest level, approximately what accuracy do top models achieve?")
    assert "40%" in answer.answer and cited(answer) == ["doc:575304d32a8f"]


def test_a_name_far_from_the_best_evidence_does_not_answer() -> None:
    """A sentence naming something answers "name the ..." only when it scores near the best evidence."""
    from qa.answer.extractive import PARAMS, Scored, _answer_sentences

    q = parse("Name the two datasets the selection study replicated its methods on.")
    assert q.names_asked
    best = Scored("We replicated the methods on two million-scale datasets.", "a", 1, 0.9, 0.7, 0.9, 0.7)
    far = Scored("Self-Lengthen needs no auxiliary data.", "b", 0, 0.2, 0.4, 0.35, 0.4)
    assert best.score > far.score / PARAMS.evidence_near and q.new_names(far.text)
    assert _answer_sentences(q, [best, far], {}, PARAMS) == []
    assert _answer_sentences(q, [far], {}, PARAMS) == [far]


@pytest.mark.parametrize("question", ["Show me all the papers from 2025 about reward models.",
                                      "Give every study in the collection on speech."])
def test_every_paper_is_a_list(question: str) -> None:
    q = parse(question)
    assert q.kind is Kind.LIST and "everi" not in q.terms


def test_every_paper_of_a_year_is_listed(qa: QA) -> None:
    answer = qa.ask("Enumerate each paper in the corpus from 2024.")
    assert {"arXiv:2407.10671", "arXiv:2409.12186", "arXiv:2409.12191"} <= set(cited(answer))
    assert all(k.startswith("arXiv:24") or k.startswith("doc:") for k in cited(answer))


@pytest.mark.parametrize(("word", "is_name"), [("LLM-generated", False), ("BERT-based", False),
                                               ("GPT-4o", True), ("MTR-Bench", True)])
def test_an_acronym_with_a_lowercase_word_is_no_name(word: str, is_name: bool) -> None:
    from qa.papers import namelike

    assert namelike(word) is is_name


def test_a_described_paper_is_found_despite_an_acronym_compound(qa: QA) -> None:
    answer = qa.ask("Which paper builds embedding and reranking models from LLM-generated data and merged models?")
    assert not answer.refused and cited(answer)[0] == "arXiv:2506.05176"


def test_a_name_stemming_to_a_generic_word_stays_a_topic_word() -> None:
    """"AIME" stems to "aim", which is also a generic word ("the aim of"): as a name it is what is asked about."""
    q = parse("Which papers give results on AIME problems?")
    assert "aim" in q.attribute_terms([]) and "aim" not in q.attribute_terms(["AIME"])
    assert "aim" not in parse("What is the aim of the benchmark?").attribute_terms([])


@pytest.mark.parametrize(("question", "kind"), [
    ("RMTBench: meaning of RMT?", Kind.EXPANSION),
    ("What is the meaning of these results?", Kind.OTHER),
    ("June 2025 preprints?", Kind.LIST),
    ("Papers of May 2025 in the collection: which ones?", Kind.LIST),
])
def test_telegraphic_expansions_and_lists(question: str, kind: Kind) -> None:
    assert parse(question).kind is kind


def test_a_telegraphic_month_list_is_answered(qa: QA) -> None:
    answer = qa.ask("September 2024 publications: which ones?")
    assert {"arXiv:2409.12186", "arXiv:2409.12191"} <= set(cited(answer))


def test_names_of_asks_for_names() -> None:
    assert parse("WavReward: names of its evaluation datasets?").names_asked


@pytest.mark.parametrize(("question", "focus"), [
    ("RMTBench: number of characters?", ["charact"]),         # generic "number": the thing after "of"
    ("Qwen2-VL flagship: accuracy of the 72B model?", ["accuraci"]),
    ("CodeElo context window?", ["window"]),                 # no "of": the last word
])
def test_the_thing_asked_for_in_a_telegraphic_question(question: str, focus: list[str]) -> None:
    assert parse(question).focus == focus


@pytest.mark.parametrize(("question", "inside", "outside"), [
    ("List the works that mention AIME.", {"doc:f0ef09a8247f", "arXiv:2506.01939"}, set()),  # AIME24, AIME'25
    ("Which studies build on Qwen2.5-VL?", {"arXiv:2503.20215", "arXiv:2508.02324"}, {"arXiv:2502.13923"}),
    ("Which papers compare against GPT-4o?", {"doc:73d486c3a6a6", "arXiv:2502.13923"}, {"arXiv:2501.15383"}),
])
def test_a_list_of_the_papers_using_a_name_gives_each_that_names_it(qa: QA, question: str, inside: set[str],
                                                                    outside: set[str]) -> None:
    """Every paper naming it (found by a search for the name too), not the paper the name is the subject of when
    others use it, nor one naming only a sibling (Qwen2.5-1M compares with GPT-4o-mini)."""
    answer = qa.ask(question)
    assert not answer.refused and inside <= set(cited(answer)) and not outside & set(cited(answer))


@pytest.mark.parametrize(("question", "name", "used"), [
    ("Which papers evaluate on AIME?", "AIME", True),
    ("Papers making use of Qwen2.5-VL?", "Qwen2.5-VL", True),
    ("Which Qwen2.5 papers came out in 2025?", "Qwen2.5", False),  # a family
    ("Which papers are about Qwen3?", "Qwen3", False),             # a topic
])
def test_a_list_of_papers_using_a_name_is_told_from_a_family_or_a_topic(question: str, name: str,
                                                                        used: bool) -> None:
    from qa.answer.question import used_name

    assert used_name(question, name) is used


def test_a_name_covers_its_editions_and_sizes_not_its_siblings() -> None:
    from qa.answer.subjects import names

    assert names("such as AMC23 and AIME24", "AIME") and names("+11.04 on AIME'25", "AIME")
    assert names("the Qwen2.5-VL-72B-Instruct model", "Qwen2.5-VL")
    assert not names("competitively against GPT-4o-mini", "GPT-4o") and not names("Qwen2.5-Math", "Qwen2.5")


def test_a_sentence_setting_the_scene_loses_unless_the_scene_is_asked_about() -> None:
    from dataclasses import replace

    from qa.answer.extractive import PARAMS, _background_cost

    params = replace(PARAMS, background=0.2)
    scene = "It is commonly believed that scaling language models must cost parameters or output tokens."
    own = "This method, namely parallel scaling, scales parallel computation by reusing existing parameters."
    how = parse("How does the parallel scaling method scale a language model?")
    assert _background_cost(how, scene, params) == 0.2 and _background_cost(how, own, params) == 0.0
    assert _background_cost(parse("What problem with scaling does the parallel method address?"), scene, params) == 0
    assert _background_cost(how, "However, we find that current evaluations overlook it.", params) == 0  # own work
    assert _background_cost(how, scene, replace(params, background=0.0)) == 0


@pytest.mark.parametrize(("question", "focus"), [
    ("How much faster than NumPy is the permutation toolkit?", []),  # a ratio is asked, not a thing
    ("How much more memory than ParScale does parameter scaling need?", ["memori"]),
    ("Qwen3: number of languages supported?", ["languag"]),        # the thing counted ends at its participle
    ("Qwen2.5: size of the instruction sample set?", ["instruct", "sampl", "set"]),
])
def test_the_thing_asked_for_is_a_noun_not_a_comparative_or_a_participle(question: str, focus: list[str]) -> None:
    assert parse(question).focus == focus


@pytest.mark.parametrize(("question", "parts"), [
    ("PolyMath: languages covered and difficulty levels?",
     ["PolyMath: languages covered?", "PolyMath: difficulty levels?"]),
    ("CodeElo: o1-mini's Elo rating, and the number of open-source models tested?",
     ["CodeElo: o1-mini's Elo rating?", "CodeElo: the number of open-source models tested?"]),
    ("Qwen3 Embedding and GTE-Qwen: which came first?", []),        # one thing asked of two subjects
    ("Qwen2-VL: what are the model sizes and what data was used?", ["Qwen2-VL: what are the model sizes",
                                                                   "what data was used?"]),
])
def test_a_telegraphic_question_asking_two_things_is_split(question: str, parts: list[str]) -> None:
    from qa.answer.extractive import sub_questions

    assert sub_questions(question) == parts


@pytest.mark.parametrize(("question", "figures", "key"), [
    ("Qwen2: languages covered and the MMLU score of the flagship?", ["30 languages", "84.2"], "arXiv:2407.10671"),
    ("CodeElo: o1-mini's Elo rating, and the number of open-source models tested?", ["1578", "30 existing"],
     "arXiv:2501.01257"),
])
def test_each_thing_a_telegraphic_question_asks_is_answered(qa: QA, question: str, figures: list[str],
                                                           key: str) -> None:
    answer = qa.ask(question)
    assert all(f in answer.answer for f in figures) and set(cited(answer)) == {key}


@pytest.mark.parametrize(("question", "asks_names"), [
    ("WorldPM: baseline models?", True),
    ("Qwen2.5-Math: evaluation benchmarks?", True),
    ("Qwen2.5-Coder: the models in the series?", False),  # which sizes: not a name to be new
    ("Qwen3: model sizes?", False),
])
def test_a_telegraphic_question_for_named_things_asks_for_names(question: str, asks_names: bool) -> None:
    assert parse(question).names_asked is asks_names


def test_named_things_asked_telegraphically_are_named(qa: QA) -> None:
    answer = qa.ask("Qwen2.5-Math: evaluation benchmarks?")
    assert "GSM8K" in answer.answer and cited(answer) == ["doc:f0ef09a8247f"]


@pytest.mark.parametrize("question", [
    "Which paper predicts earthquakes from seismograph readings?",
    "Which study proposes a reward model for robot grasping?",
    "Is there a method for compressing the KV cache with low-rank projections?",
])
def test_a_question_for_a_paper_the_corpus_lacks_is_refused(qa: QA, question: str) -> None:
    assert qa.ask(question).answer == REFUSAL


def test_every_paper_of_a_year_named_before_the_papers_is_listed(qa: QA) -> None:
    """"2024 preprints here": the year scopes the search, and "here" is no topic that would narrow the list."""
    answer = qa.ask("Which 2024 preprints are here?")
    assert {"arXiv:2409.12186", "arXiv:2407.10671", "arXiv:2410.23933", "arXiv:2409.12191"} <= set(cited(answer))
    assert not any(key.startswith("arXiv:25") for key in cited(answer))


def test_a_count_is_not_a_topic_word_except_for_the_parts_of_a_method() -> None:
    assert "two" not in parse("Which two papers speed up inference, and how?").attribute_terms()
    parts = parse("What two stages does the training recipe have?")
    assert parts.kind is Kind.PARTS and "two" in parts.attribute_terms()  # "two key factors" names them


def test_a_list_question_retrieves_room_for_every_paper_it_lists(qa: QA) -> None:
    from qa.answer.extractive import MAX_LISTED

    listing = qa.retrieve("Which papers report results on math benchmarks?")
    single = qa.retrieve("What results on math benchmarks does the report give?")
    assert len(listing.passages) >= MAX_LISTED > len(single.passages) == qa.settings.top_k


@pytest.mark.parametrize(("question", "kind"), [
    ("How does GSPO compute its importance ratio?", Kind.OTHER),
    ("Why does the gated attention study get lower latency?", Kind.OTHER),
    ("Which paper lets a model handle pictures of any size by turning them into a varying number of tokens?",
     Kind.OTHER),
    ("What model sizes does WorldPM train?", Kind.NUMBER),  # the measure follows the lead at once: asked for
    ("What MMLU score does Qwen2-72B get?", Kind.NUMBER),
    ("Which paper builds a SIMD toolkit, and what speedup does it reach?", Kind.NUMBER),  # a second question
])
def test_a_measure_describing_what_is_asked_about_is_no_figure_asked_for(question: str, kind: Kind) -> None:
    """"How does X compute its ratio?" asks for a mechanism, "Which paper ... a number of tokens?" for a paper."""
    assert parse(question).kind is kind


def test_a_mechanism_asked_with_a_measure_in_it_is_answered(qa: QA) -> None:
    answer = qa.ask("How does GSPO compute its importance ratio?")
    assert "sequence likelihood" in answer.answer and cited(answer) == ["arXiv:2507.18071"]


def test_a_name_written_with_a_space_is_the_paper_whose_name_has_a_hyphen(qa: QA) -> None:
    """"the Qwen2.5 coder model" is Qwen2.5-Coder (5.5 trillion tokens), not Qwen2.5 (18 trillion)."""
    answer = qa.ask("How many tokens was the Qwen2.5 coder model trained on?")
    assert "5.5 trillion" in answer.answer and "18 trillion" not in answer.answer
    assert cited(answer) == ["arXiv:2409.12186"]
    both = qa.ask("Compare Qwen2.5 and the Qwen2.5 coder model in pre-training tokens.")  # both named: both kept
    assert {"arXiv:2409.12186", "doc:73d486c3a6a6"} <= set(cited(both))


def test_how_long_is_answered_by_a_length_of_time_given_by_its_unit(qa: QA) -> None:
    answer = qa.ask("How long are the videos Qwen2.5-VL can process?")
    assert "up to hours" in answer.answer and cited(answer) == ["arXiv:2502.13923"]


def test_a_family_list_brings_in_every_member_the_question_alone_misses(qa: QA) -> None:
    """A search for "Which Qwen2.5 papers ..." fills its places with Qwen2.5 and a few members; Qwen2.5-Omni and
    Qwen2.5-Math come in through a search for the family's name."""
    answer = qa.ask("Which Qwen2.5 papers are in the corpus?")
    assert {"arXiv:2503.20215", "doc:f0ef09a8247f", "arXiv:2409.12186", "arXiv:2502.13923",
            "arXiv:2501.15383"} <= set(cited(answer))
    assert not {"arXiv:2409.12191", "doc:3d6d4d85b2b4"} & set(cited(answer))  # Qwen2-VL, WavReward: not members


@pytest.mark.parametrize("question", [
    "Which dataset of forum posts did WorldPM scrape, by name?",
    "Which forums did WorldPM collect preference data from (by name)?",
])
def test_a_question_asking_by_name_is_refused_without_a_name(qa: QA, question: str) -> None:
    """The abstract says "public forums" and names none."""
    assert parse(question).names_asked
    assert qa.ask(question).answer == REFUSAL


@pytest.mark.parametrize(("question", "kind"), [
    ("Which work scores how well models solve puzzles that need many rounds of interaction?", Kind.OTHER),
    ("Which paper makes shuffling the dimensions of arrays faster on CPUs with wide vector registers?", Kind.OTHER),
    ("What are the dimensions of the Qwen3 Embedding vectors?", Kind.PARTS),  # no paper asked for: unchanged
])
def test_a_question_for_a_paper_asks_neither_for_a_figure_nor_for_parts(question: str, kind: Kind) -> None:
    """After "Which work", "scores" is a verb and "dimensions" describe the paper sought."""
    assert parse(question).kind is kind


def test_the_plural_of_an_acronym_is_a_class_of_things_not_a_name(qa: QA) -> None:
    """"CPUs" names no model: an abstract not saying it still answers (it was refused as a name none states)."""
    question = "Which paper makes shuffling the dimensions of arrays faster on CPUs with wide vector registers?"
    assert parse(question).names == []
    answer = qa.ask(question)
    assert cited(answer)[0] == "arXiv:2506.03686" and "SIMD" in answer.answer


@pytest.mark.parametrize(("question", "focus"), [
    ("What problem does Qwen-Image's dual-encoding solve?", []),
    ("What challenge does MARGE address?", []),
    ("How many problems does the CodeElo benchmark compile?", ["problem"]),  # counted, problems are things
])
def test_a_word_for_the_kind_of_answer_is_not_the_thing_asked_for(question: str, focus: list[str]) -> None:
    assert parse(question).focus == focus


def test_what_a_mechanism_solves_is_answered_in_the_abstracts_words(qa: QA) -> None:
    """The answer says what the dual encoding balances; no sentence of the abstract says "problem"."""
    answer = qa.ask("What problem does Qwen-Image's dual-encoding solve?")
    assert "semantic consistency" in answer.answer and cited(answer) == ["arXiv:2508.02324"]


def test_why_is_a_question_word_not_a_topic() -> None:
    assert "whi" not in parse("Why does GSPO stabilize MoE training?").terms


@pytest.mark.parametrize(("question", "key", "says"), [
    ("What does PolyMath measure?", "doc:575304d32a8f", "multilingual mathematical reasoning benchmark"),
    ("What does GSPO compare against?", "arXiv:2507.18071", "GRPO"),
])
def test_a_general_verb_asks_what_the_paper_does(qa: QA, question: str, key: str, says: str) -> None:
    """"measure" and "against" are no topic: the paper's own sentences answer (they were refused, or answered
    from another paper's sentence saying "measured" or "against")."""
    answer = qa.ask(question)
    assert says in answer.answer and cited(answer) == [key]


def test_a_gain_asked_telegraphically_is_a_change_of_the_measure_before_it(qa: QA) -> None:
    """"accuracy gain?": the sentence states the accuracy "from 55.1% to 91.5%" and never says "gain"."""
    question = "Objective accuracy gain of WavReward over Qwen2.5-Omni?"
    assert parse(question).focus == ["accuraci", "gain"]
    answer = qa.ask(question)
    assert "55.1%" in answer.answer and "91.5%" in answer.answer and cited(answer) == ["doc:3d6d4d85b2b4"]


def test_a_growth_rate_is_a_figure_of_the_thing_it_grows_with() -> None:
    from qa.answer.extractive import states_figure_of
    sentence = "A model with P parallel streams is similar to scaling the parameters by O(log P) while staying fast."
    assert states_figure_of(sentence, ["paramet"])
    assert not states_figure_of("We scale the parameters of the model with care and efficiency.", ["paramet"])


@pytest.mark.parametrize(("question", "says"), [
    ("Tell me the two roles in the Self-Lengthen framework.", "two roles: the Generator and the Extender"),
    ("Explain the stages of the Qwen2.5-Math pipeline.", "During the pre-training phase"),
])
def test_an_imperative_asking_for_the_parts_is_answered_first_by_the_sentence_naming_them(
        qa: QA, question: str, says: str) -> None:
    """"Tell me / explain / outline the stages of X" asks for the parts as "What are the stages of X?" does:
    the sentence naming them comes first, not the paper's introduction."""
    assert parse(question).kind is Kind.PARTS
    answer = qa.ask(question)
    assert says in answer.answer.split(" [")[0]


def test_outline_is_a_question_word() -> None:
    assert parse("Outline the modules of StyleSpeaker.").attribute_terms() == []


@pytest.mark.parametrize("question", [
    "Which embedding dimension do Qwen3 Embedding models output?",
    "How many layers does Qwen2-VL-72B have?",
])
def test_a_measure_no_abstract_states_is_not_answered_with_a_models_size(qa: QA, question: str) -> None:
    """The Qwen3 Embedding sizes (0.6B, 4B, 8B) are no dimension, and the 72B in "Qwen2-VL-72B" is part of a
    name, not a count of layers."""
    assert qa.ask(question).answer == REFUSAL


@pytest.mark.parametrize(("question", "figures"), [
    ("Which Qwen3 Embedding sizes are available?", ["0.6B", "8B"]),
    ("What sizes does Qwen2-VL come in?", ["2B", "72B"]),
])
def test_sizes_asked_for_are_still_answered_with_sizes(qa: QA, question: str, figures: list[str]) -> None:
    answer = qa.ask(question)
    assert all(f in answer.answer for f in figures)


def test_a_size_inside_a_models_name_is_not_a_figure_stated() -> None:
    from qa.answer.extractive import has_number
    assert not has_number("Notably, the Qwen2-VL-72B model achieves results comparable to leading models.")
    assert has_number("The Qwen2-VL series comes in versions at 2B, 8B and 72B parameters.")


def test_a_count_of_other_things_does_not_answer_how_many(qa: QA) -> None:
    """"80 diverse characters and over 8,000 dialogue rounds" counts no annotators."""
    from qa.answer.extractive import counts_other_things
    sentence = "We introduce RMTBench, featuring 80 diverse characters and over 8,000 dialogue rounds."
    assert counts_other_things(sentence, ["annot"])
    assert not counts_other_things(sentence, ["charact"])
    assert not counts_other_things("We rate 30 open-source and 3 proprietary LLMs.", ["model"])  # an acronym
    assert not counts_other_things("Accuracy rose from 55.1% to 91.5% on 3 sets.", ["annot"])  # a measure too
    assert qa.ask("How many human annotators scored the RMTBench dialogues?").answer == REFUSAL
    assert "80 diverse characters" in qa.ask("How many characters does RMTBench include?").answer


@pytest.mark.parametrize(("question", "described"), [
    ("What models and data did the gated attention study train?", ["gate", "attent"]),
    ("What two factors does the gated attention study credit for the sigmoid gate?", ["attent"]),  # gate: asked
    ("Which paper studies gated attention?", []),
])
def test_a_paper_named_by_what_it_is_about_is_read_as_its_subject(question: str, described: list[str]) -> None:
    assert parse(question).described == described


@pytest.mark.parametrize(("question", "says", "key"), [
    ("What models and data did the gated attention study train?", "3.5 trillion", "doc:6fe1fa34c349"),
    ("Which two roles does the long-output training paper define?", "the Generator and the Extender",
     "arXiv:2410.23933"),
    ("What does the data selection study recommend filtering by?", "token length", "arXiv:2410.09335"),
])
def test_a_paper_named_by_what_it_is_about_is_answered_from_its_abstract(qa: QA, question: str, says: str,
                                                                         key: str) -> None:
    """The words describing the paper choose it; what is asked of it chooses the sentence."""
    answer = qa.ask(question)
    assert says in answer.answer and cited(answer)[0] == key


def test_a_detail_of_a_paper_named_by_its_topic_is_refused(qa: QA) -> None:
    assert qa.ask("What learning rate does the rationales study use?").answer == REFUSAL


def test_an_id_written_after_a_space_only_filters_the_search() -> None:
    """"arXiv 2505.10527" is the ID of the paper asked about, not a name "arXiv" its abstract must say."""
    assert content_of("What does arXiv 2505.10527 propose?") == "What does   propose?"
    assert content_of("arxiv id 2505.10527: main result?") == "main result?"
    assert "arXiv" in content_of("Which arXiv papers use GRPO?")


@pytest.mark.parametrize(("question", "key", "says"), [
    ("What does arXiv 2506.03686 propose?", "arXiv:2506.03686", "permutation"),
    ("Which problem does arXiv:2503.09852 tackle, and what do the authors call their method?", "arXiv:2503.09852",
     "facial animation"),
])
def test_what_a_paper_pinned_by_its_id_takes_on_is_its_problem_and_its_proposal(qa: QA, question: str, key: str,
                                                                               says: str) -> None:
    answer = qa.ask(question)
    assert not answer.refused and says in answer.answer and set(cited(answer)) == {key}


def test_a_paper_pinned_by_its_id_is_asked_what_it_proposes_and_a_figure() -> None:
    """Each part of "what does X propose, and with how much data ..." is answered: the proposal and the figure."""
    assert [p.split()[0] for p in sub_questions("What does it propose, and with how much data was it trained?")] == \
        ["What", "with"]


@pytest.mark.parametrize(("question", "parts"), [
    ("Which baseline is GSPO compared with, and at what level does it compute the importance ratio?",
     ["Which baseline is GSPO compared with", "at what level does it compute the importance ratio?"]),
    ("Which models are in the Qwen2.5-1M series and by how much does its framework speed up prefill?",
     ["Which models are in the Qwen2.5-1M series", "by how much does its framework speed up prefill?"]),
])
def test_a_second_question_led_by_a_preposition_is_answered_apart(question: str, parts: list[str]) -> None:
    assert sub_questions(question) == parts


def test_both_parts_led_by_a_preposition_are_answered(qa: QA) -> None:
    answer = qa.ask("Which algorithm does GSPO improve on, and at what granularity does it clip?")
    assert "GRPO" in answer.answer and "sequence" in answer.answer and set(cited(answer)) == {"arXiv:2507.18071"}


def test_names_typed_in_lower_case_are_read_as_the_abstracts_write_them(qa: QA) -> None:
    assert recased("does qwen2.5-coder beat gpt-4o on polymath", ["Qwen2.5-Coder, GPT-4o and PolyMath."]) == \
        "does Qwen2.5-Coder beat GPT-4o on PolyMath"
    assert recased("Does it beat claude", ["It beats Claude."]) == "Does it beat claude"  # a capital elsewhere
    answer = qa.ask("how many languages does qwen2 handle compared with qwen3")
    assert {"arXiv:2407.10671", "arXiv:2505.09388"} <= set(cited(answer))
    assert "30 languages" in answer.answer and "119" in answer.answer


def test_a_model_typed_in_lower_case_that_no_abstract_scores_is_refused(qa: QA) -> None:
    """"claude 3.5 sonnet" is a name: CodeElo's abstract does not give its rating."""
    assert qa.ask("which elo rating does claude 3.5 sonnet reach on codeelo").refused


def test_a_word_ending_in_the_thing_asked_for_names_it() -> None:
    assert names_focus(frozenset({"pretrain", "corpus"}), ["train"])
    assert not names_focus(frozenset({"rain"}), ["train"])


def test_a_corpus_size_is_answered_by_the_figure_of_what_it_pretrains_on(qa: QA) -> None:
    answer = qa.ask("size of the training corpus used when continuing to pretrain Qwen2.5-Coder?")
    assert "5.5 trillion" in answer.answer and cited(answer) == ["arXiv:2409.12186"]


def test_the_number_of_things_inside_a_request_is_what_is_asked_for(qa: QA) -> None:
    """ParScale's abstract gives a growth rate, not how many tokens or parameters its experiments used."""
    assert parse("Report the largest model and the number of training tokens used in the ParScale runs.").focus == \
        ["train", "token"]
    assert qa.ask("Report the largest model and the number of training tokens used in the ParScale runs.").refused


@pytest.mark.parametrize(("question", "detail"), [
    ("When you train on long outputs, which method helps most?", False),
    ("Is there a model of faces whose expressions follow speech?", False),
    ("When did the Qwen3 report come out?", True),
    ("Whose benchmark is CodeElo?", True),
    ("CodeElo published when?", True),
])
def test_when_and_whose_ask_a_date_or_an_owner_only_as_question_words(question: str, detail: bool) -> None:
    assert bool(parse(question).unstated) is detail


def test_a_name_set_aside_need_not_be_mentioned(qa: QA) -> None:
    """"(not the Math one)": no retrieved abstract need say "Math"."""
    assert excluded("How large is Qwen2.5's pre-training data (the base series, not Math or Coder)?", "Coder")
    assert not excluded("Does Qwen2.5-Math beat Qwen2.5?", "Qwen2.5")
    answer = qa.ask("How large is the pre-training data of Qwen2.5 (the base series, not Omni or Coder)?")
    assert "18 trillion" in answer.answer and cited(answer) == ["doc:73d486c3a6a6"]


@pytest.mark.parametrize("question", [
    "anything on role-playing benchmarks?",
    "Is there anything about reward models?",
    "show me everything posted in June 2025",
    "what came out in March 2025?",
])
def test_a_search_box_request_is_a_list(question: str) -> None:
    assert parse(question).kind is Kind.LIST


def test_part_of_a_month_or_year_is_a_date_not_a_topic() -> None:
    assert parse_filters("anything from late 2024 about long outputs?").month_from == 202401
    assert parse("show me everything posted in the last week of June 2025").terms == []


def test_a_month_listed_in_a_search_boxs_words_names_each_paper_of_it(qa: QA) -> None:
    answer = qa.ask("show me everything released in the last week of June 2025")
    assert {"arXiv:2506.05176", "arXiv:2506.03686", "arXiv:2506.01939"} <= set(cited(answer))


def test_an_elliptical_follow_up_asks_the_last_question_of_the_sibling_it_names(qa: QA) -> None:
    """"and the Math one?" after Qwen2.5: the same question of Qwen2.5-Math."""
    _, other = conversation(qa, "Which two reasoning modes do Qwen2.5 models support?", "and the Math one?")
    assert other.standalone_question == "Which two reasoning modes do Qwen2.5-Math models support?"  # type: ignore[attr-defined]
    assert "Tool-Integrated Reasoning" in other.answer and cited(other) == ["doc:f0ef09a8247f"]  # type: ignore[attr-defined]


def test_a_turn_that_leaned_on_the_one_before_passes_its_subject_on(qa: QA) -> None:
    """"does it have MoE models?" after Qwen3 was about Qwen3: the next "it" is Qwen3, not "MoE"."""
    *_, last = conversation(qa, "What does Qwen3's thinking mode do?", "does it have MoE models?",
                            "under which licence can it be used?")
    assert last.standalone_question.endswith("(regarding Qwen3)")  # type: ignore[attr-defined]
    assert "Apache 2.0" in last.answer and cited(last) == ["arXiv:2505.09388"]  # type: ignore[attr-defined]


def test_a_settings_evidence_is_its_value() -> None:
    """"tolerates larger learning rates" does not say which learning rate was used."""
    patterns = parse("Which learning rate was used for the gated models?").unstated
    assert not any(p.search("It also tolerates larger learning rates.") for p in patterns)
    assert any(p.search("We train with a learning rate of 3e-4.") for p in patterns)


def test_a_learning_rate_no_abstract_gives_is_refused(qa: QA) -> None:
    assert qa.ask("Which learning rate was used for the gated attention models?").refused


def test_a_score_is_not_a_count_of_datasets(qa: QA) -> None:
    """Qwen2.5-Math's abstract names AMC23 among "10 mathematics datasets" but gives no score on it."""
    assert qa.ask("What exact score does Qwen2.5-Math-Instruct reach on AMC23?").refused


def test_how_much_faster_is_answered_by_a_ratio(qa: QA) -> None:
    """"faster" is not a word the answer must say: "3x to 7x ... speedup" says how much faster."""
    answer = qa.ask("how much faster is prefill with the framework of Qwen2.5-1M?")
    assert "3x to 7x" in answer.answer and cited(answer) == ["arXiv:2501.15383"]


def test_what_a_name_is_starts_with_the_sentence_spelling_it_out(qa: QA) -> None:
    answer = qa.ask("Tell me what WorldPM is.")
    assert answer.answer.startswith("We propose World Preference Modeling (WorldPM)")
    assert set(cited(answer)) == {"arXiv:2505.10527"}


def test_a_part_of_a_paper_asked_about_passes_on_the_paper_not_the_part(qa: QA) -> None:
    """After "what does the Thinker do?", "it" is Qwen2.5-Omni, not "Thinker"."""
    *_, last = conversation(qa, "What architecture lets Qwen2.5-Omni speak while it writes?",
                            "What does the Thinker do?", "How does it compare with Qwen2-Audio?")
    assert last.standalone_question.endswith("(regarding Qwen2.5-Omni)")  # type: ignore[attr-defined]
    assert "outperforms Qwen2-Audio" in last.answer  # type: ignore[attr-defined]


def test_two_things_asked_about_a_paper_are_each_answered(qa: QA) -> None:
    question = "What does arXiv:2505.09388 say about the languages it covers and the range of its model sizes?"
    assert len(sub_questions("What does it say about the languages it covers and the range of its sizes?")) == 2
    answer = qa.ask(question)
    assert "119" in answer.answer and "235 billion" in answer.answer and set(cited(answer)) == {"arXiv:2505.09388"}


def test_who_did_best_asks_for_a_model_not_the_authors(qa: QA) -> None:
    assert not parse("who did best on CodeElo?").unstated and parse("Who wrote CodeElo?").unstated
    answer = qa.ask("who did best on CodeElo?")
    assert "o1-mini" in answer.answer and cited(answer) == ["arXiv:2501.01257"]


def test_a_follow_up_led_by_and_joins_no_two_names(qa: QA) -> None:
    """"and GPT-4o's rating?" after CodeElo: no abstract gives it; another paper naming GPT-4o does not answer."""
    *_, last = conversation(qa, "Which platform is CodeElo built on?", "and GPT-4o's rating?")
    assert last.refused  # type: ignore[attr-defined]


@pytest.mark.parametrize(("follow", "reading"), [
    ("and the Coder one? how many tokens was it pretrained on?",
     "how many tokens was it pretrained on? (regarding Qwen2.5-Coder)"),
    ("what about the VL version, which sizes?", "which sizes? (regarding Qwen2.5-VL)"),
])
def test_a_sibling_named_before_a_question_is_what_it_asks_about(qa: QA, follow: str, reading: str) -> None:
    _, last = conversation(qa, "What is Qwen2.5?", follow)
    assert last.standalone_question == reading  # type: ignore[attr-defined]


def test_plain_names_the_paper_without_the_suffix(qa: QA) -> None:
    *_, last = conversation(qa, "What did Qwen2.5-Coder continue pretraining on?", "and plain Qwen2.5?")
    assert last.standalone_question == "What did Qwen2.5 continue pretraining on?"  # type: ignore[attr-defined]


def test_another_question_marker_switches_the_topic() -> None:
    history = [{"role": "user", "content": "What is GSPO?"},
               {"role": "assistant", "content": "An RL algorithm [arXiv:2507.18071]."}]
    question = "another question: the token entropy paper, what did it find?"
    assert standalone_question(question, history) == question


def test_which_datasets_of_a_named_paper_asks_for_their_names(qa: QA) -> None:
    """StyleSpeaker's abstract says "three public datasets" and names none."""
    assert qa.ask("which datasets, exactly, for StyleSpeaker?").refused
    answer = qa.ask("Which benchmarks does Qwen2.5-Math evaluate on?")
    assert "GSM8K" in answer.answer


def test_names_known_to_be_papers_are_remembered_until_the_store_changes(qa: QA,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    searches: list[str] = []
    real = qa.store.lexical_search

    def counted(query: str, k: int, allowed: object = None) -> list[tuple[str, float]]:
        searches.append(query)
        return real(query, k)

    monkeypatch.setattr(qa.store, "lexical_search", counted)
    assert qa._names_a_paper("StyleSpeaker") and qa._names_a_paper("StyleSpeaker")
    assert searches == ["StyleSpeaker"]
    index = qa.store.lexicon()
    monkeypatch.setattr(qa.store, "lexicon", lambda: copy.copy(index))  # as after an ingest: another index
    assert qa._names_a_paper("StyleSpeaker")
    assert searches == ["StyleSpeaker", "StyleSpeaker"]


def test_clipped_words_are_read_written_out(qa: QA) -> None:
    """"params" is "parameters": before, no sentence said "param" and the question was refused."""
    assert unclipped("qwen2 params and ctx?") == "qwen2 parameters and context?"
    assert unclipped("Params of Eval-X?") == "Params of Eval-X?"  # a capital: a name, left alone
    answer = qa.ask("qwen2 params range?")
    assert "72 billion" in answer.answer and cited(answer) == ["arXiv:2407.10671"]


@pytest.mark.parametrize(("question", "reading"), [
    ("unrelated: what does qwen-image do well?", "what does qwen-image do well?"),
    ("switching topics \u2014 which sizes does Qwen2-VL offer?", "which sizes does Qwen2-VL offer?"),
    ("okay so, thanks. what is GSPO?", "what is GSPO?"),
    ("Ok Qwen3 sizes?", "Ok Qwen3 sizes?"),  # no mark after it: not a lead-in
])
def test_what_a_chat_turn_opens_with_is_not_part_of_its_question(question: str, reading: str) -> None:
    assert without_lead_in(question) == reading


def test_a_turn_opening_with_a_change_of_topic_is_answered(qa: QA) -> None:
    answer = qa.ask("unrelated: what does qwen-image do well?")
    assert "text rendering" in answer.answer and cited(answer) == ["arXiv:2508.02324"]


def test_a_model_name_no_abstract_writes_is_a_name_even_in_lower_case(qa: QA) -> None:
    """"llama4" is in no abstract: before, it was a plain word and Qwen2.5-1M's context length answered."""
    assert recased("llama4 vs gpt-4.1 at top-1?", ["Qwen3."]) == "Llama4 vs GPT-4.1 at top-1?"
    assert qa.ask("llama4 context window?").refused


def test_a_paper_asked_for_by_its_topic_does_not_lean_on_the_turn_before() -> None:
    history = [{"role": "user", "content": "How long a context does Qwen2.5-1M take?"},
               {"role": "assistant", "content": "1 million tokens [arXiv:2501.15383]."}]
    for question in ("ok then, which paper evaluates spoken dialogue?", "is there a study on role-playing?"):
        assert standalone_question(question, history) == question
    assert standalone_question("which paper is it from?", history) != "which paper is it from?"


def test_a_word_naming_a_kind_of_model_is_not_what_is_counted(qa: QA) -> None:
    """"82.4 on BBH as a base language model" counts no languages; Qwen2's "approximately 30 languages" does."""
    assert not states_figure_of("It scores 82.4 on BBH as a base language model.", ["languag"], counted=True)
    answer = qa.ask("Qwen2 vs Qwen3: how many languages?")
    assert "30 languages" in answer.answer and "119" in answer.answer


def test_a_lists_marker_is_not_a_figure_and_models_sizes_are_no_score(qa: QA) -> None:
    """"(2) In the post-training phase" and "Qwen2.5-Math-Instruct-1.5B/7B/72B" give no score on a benchmark;
    before, they answered "how did it score"."""
    assert not has_number("(2) In the post-training phase, we develop a reward model (RM).")
    assert sizes_only("It comes in 0.6B, 4B and 8B.") and not sizes_only("We train on 15M-scale data with 1.5B models.")
    assert qa.ask("How did Qwen2.5-Math-Instruct score on GaoKao Math Cloze, exactly?").refused
    assert qa.ask("the embedding vector dimension of each Qwen3 Embedding model?").refused
    answer = qa.ask("Which sizes are the Qwen2.5-Math-Instruct models?")  # sizes asked: they answer
    assert "72B" in answer.answer and cited(answer) == ["doc:f0ef09a8247f"]


def test_what_error_a_model_reaches_asks_for_a_value(qa: QA) -> None:
    assert parse("which mean landmark error does StyleSpeaker obtain?").kind is Kind.NUMBER
    assert parse("What kind of errors do code models make?").kind is not Kind.NUMBER
    assert qa.ask("which mean landmark error does StyleSpeaker obtain?").refused


def test_what_a_model_succeeded_is_answered_by_its_predecessor(qa: QA) -> None:
    """Abstracts call what came before a "predecessor": no question word says so. Asked in a second part, the
    evidence is that part's too (before, "what did it supersede" was left unanswered)."""
    answer = qa.ask("What size is the Qwen2.5-Coder pretraining corpus, and what did Qwen2.5-Coder supersede?")
    assert "5.5 trillion" in answer.answer and "CodeQwen1.5" in answer.answer
    assert "GTE-Qwen" in qa.ask("Which series did the Qwen3 Embedding models replace?").answer
    assert qa.ask("What did Qwen-Image replace?").refused  # its abstract names no predecessor


def test_a_prior_version_asked_about_is_answered_by_the_sentence_naming_it(qa: QA) -> None:
    answer = qa.ask("Qwen2.5-1M: what context length does it reach, and what did the earlier version support?")
    assert "1 million" in answer.answer and "128K" in answer.answer


def test_the_fields_word_in_a_question_is_not_the_subject_passed_on(qa: QA) -> None:
    """"LLMs" is used most by PolyMath among the papers cited; the turn was about MTR-Bench, cited first."""
    _, follow = conversation(qa, "Which benchmark evaluates LLMs on multi-turn reasoning?", "how many tasks?")
    assert follow.standalone_question == "how many tasks? (regarding MTR-Bench)"  # type: ignore[attr-defined]
    assert "40 tasks" in follow.answer  # type: ignore[attr-defined]


def test_a_mixture_of_experts_counts_no_experts() -> None:
    """"-of-" compounds are named by their first word: "how many experts" is not "Mixture-of-Experts ... 235"."""
    sentence = ("The Qwen3 series includes models of both dense and Mixture-of-Expert (MoE) architectures, with "
                "parameter scales ranging from 0.6 to 235 billion.")
    assert not states_figure_of(sentence, ["expert"], counted=True)
    assert states_figure_of("Each layer routes among 64 experts.", ["expert"], counted=True)


def test_the_former_and_the_latter_are_the_names_before_them(qa: QA) -> None:
    """Each part is held to its own subject: before, both names were required of each part, and it was refused."""
    question = "MTR-Bench and PolyMath: how many instances does the former hold, and how many languages the latter?"
    assert content_of(question) == ("MTR-Bench and PolyMath: how many instances does MTR-Bench hold, and how many "
                                    "languages PolyMath?")
    answer = qa.ask(question)
    assert "3600" in answer.answer and "18 languages" in answer.answer


def test_what_an_acronym_refers_to_is_its_expansion_and_the_rest_is_answered(qa: QA) -> None:
    answer = qa.ask("What does GSPO refer to, and at which level does it clip?")
    assert answer.answer.startswith("GSPO stands for Group Sequence Policy Optimization")
    assert "sequence-level clipping" in answer.answer


def test_the_sibling_named_after_a_dash_is_of_the_topics_family(qa: QA) -> None:
    """"the Math one" after Qwen2.5-Coder is Qwen2.5-Math (before: Qwen2.5-Coder-Math, unknown, so the
    question stayed about Qwen2.5-Coder), and a bare "sizes?" after a dash is its own question."""
    *_, last = conversation(qa, "What is Qwen2.5-Coder?", "and the Math one \u2014 which sizes?")
    assert last.standalone_question == "which sizes? (regarding Qwen2.5-Math)"  # type: ignore[attr-defined]
    assert "72B" in last.answer  # type: ignore[attr-defined]
    *_, last = conversation(qa, "What is Qwen2.5-Coder?", "and the Math one: languages?")
    assert last.standalone_question == "languages? (regarding Qwen2.5-Math)"  # type: ignore[attr-defined]


def test_a_second_part_led_by_from_where_is_a_part(qa: QA) -> None:
    assert sub_questions("How much text did Qwen2.5 pretrain on, and from where?") == \
        ["How much text did Qwen2.5 pretrain on", "from where?"]
    answer = qa.ask("How much data was WorldPM trained on, and from where?")
    assert "15M" in answer.answer and "public forums" in answer.answer


def test_the_biggest_model_asks_for_a_size_of_each_subject(qa: QA) -> None:
    """Before, "biggest model" asked for nothing in particular: Qwen3's summary answered alone."""
    assert parse("largest variant, Qwen2 or Qwen3?").kind is Kind.NUMBER
    answer = qa.ask("Largest variant, Qwen2 or Qwen3?")
    assert "72" in answer.answer and "235" in answer.answer


@pytest.mark.parametrize(("question", "focus"), [
    # the sentence that asks after one that sets the scene: before, the scene's last word ("step", "outputs")
    ("A 2025 report extends context to a million tokens. How much did decoding speed up?", []),
    ("The Qwen3 report \u2014 what parameter range do its models span?", ["paramet"]),
    # a verb in the past is not the thing asked for: before, "went"
    ("How much data went into WorldPM?", []),
])
def test_the_thing_asked_for_is_read_from_the_clause_that_asks(question: str, focus: list[str]) -> None:
    assert parse(question).focus == focus


def test_a_scene_describing_the_paper_picks_it_and_is_not_what_is_asked() -> None:
    question = parse("A study trained reward models on forum votes. How big were its models?")
    assert {"forum", "vote"} <= set(question.described)
    assert not {"forum", "vote"} & set(question.attribute_terms())


def test_what_a_company_may_do_with_models_asks_for_their_license(qa: QA) -> None:
    """Before, "company" asked for the authors' affiliation, which no abstract gives: refused."""
    for question in ("Can a startup use the Qwen3 models commercially?", "Is a company allowed to use Qwen3 freely?"):
        answer = qa.ask(question)
        assert "Apache 2.0" in answer.answer, question


def test_a_question_asking_nothing_specific_of_a_named_paper_is_answered_from_it() -> None:
    """"How does X stack up?" says no word of X's abstract: a sentence of X's own paper close to the whole
    question, names and all (`subject_near`), answers it; before, it was refused. Not one asking a named thing,
    nor a detail abstracts rarely state, nor one below the bar."""
    from qa.answer.extractive import PARAMS, Scored, _answer_sentences

    owned = {"ParScale": ["p"]}
    close = Scored("ParScale uses 22x less memory than parameter scaling.", "p", 3, 0.1, PARAMS.subject_near + 0.01,
                   0.1, 0.2)
    far = Scored("ParScale uses 22x less memory than parameter scaling.", "p", 3, 0.1, PARAMS.subject_near - 0.01,
                 0.1, 0.2)
    q = parse("How does ParScale stack up against adding more parameters?")
    assert _answer_sentences(q, [close], owned, PARAMS) == [close]
    assert _answer_sentences(q, [far], owned, PARAMS) == []
    assert _answer_sentences(parse("Which optimizer does ParScale use?"), [close], owned, PARAMS) == []
    assert _answer_sentences(parse("Which model does ParScale beat?"), [close], owned, PARAMS) == []


def test_what_is_new_in_a_model_is_its_summary_with_its_innovation(qa: QA) -> None:
    """Before, only the sentence introducing Qwen3 answered: the key innovation (thinking modes) was left out."""
    answer = qa.ask("What is actually new in Qwen3?")
    assert "A key innovation in Qwen3" in answer.answer and cited(answer) == ["arXiv:2505.09388"]


def test_a_sentence_pointing_back_comes_with_the_sentence_it_points_at(qa: QA) -> None:
    """"These merits of GSPO ..." owes "stabilizes" to the sentence before it: before, it answered alone."""
    answer = qa.ask("what does GSPO claim to stabilize?")
    assert "stabilizes Mixture-of-Experts" in answer.answer
    assert answer.answer.index("stabilizes") < answer.answer.index("These merits")


def test_i_meant_another_paper_asks_the_last_question_of_it(qa: QA) -> None:
    *_, last = conversation(qa, "What sizes does Qwen2.5 come in?", "no, I meant the Math one")
    assert last.standalone_question == "What sizes does Qwen2.5-Math come in?"  # type: ignore[attr-defined]
    assert "72B" in last.answer  # type: ignore[attr-defined]


def test_and_another_model_asks_the_last_question_of_that_model(qa: QA) -> None:
    """"and QwQ?" after a question about o1-mini's rating: before, "(regarding CodeElo)" with nothing asked."""
    *_, last = conversation(qa, "What Elo rating did o1-mini reach on CodeElo?", "and QwQ?")
    assert last.standalone_question == "What Elo rating did QwQ reach on CodeElo?"  # type: ignore[attr-defined]


def test_how_much_of_a_kind_of_data_is_answered_by_the_figure_next_to_the_data(qa: QA) -> None:
    """"how much preference data": "15M-scale data" is far from "preference" in its sentence; before, the sentence
    counting evaluation sets (7K, 100K, 800K samples) answered."""
    assert parse("How much preference data did WorldPM use?").focus == ["prefer", "data"]
    answer = qa.ask("How much preference data did WorldPM use?")
    assert answer.answer.startswith("WorldPM: In this paper, we collect preference data") and "15M" in answer.answer


def test_a_scene_picks_the_paper_saying_most_of_it(qa: QA) -> None:
    """No abstract says every word of "animates 3D faces from speech" ("facial animation"): before, no paper was
    picked, and the sentence naming the framework was not close enough to the whole question to answer."""
    answer = qa.ask("A March 2025 paper animates 3D faces from speech. What is its framework called?")
    assert "StyleSpeaker" in answer.answer and cited(answer) == ["arXiv:2503.09852"]


def test_active_parameters_are_stated_only_as_such(qa: QA) -> None:
    """Qwen2's abstract gives a parameter range and names a Mixture-of-Experts model, never its active parameters:
    before, the range answered."""
    assert qa.ask("How many activated parameters does the Qwen2 MoE model use?").refused
    assert parse("active params of Qwen3-235B-A22B?").unstated
    assert not qa.ask("How many parameters does the Qwen2 series span?").refused


def test_a_family_word_or_an_opening_we_is_no_turns_topic(qa: QA) -> None:
    """"We want a reranker. Is there a Qwen model for it?" answered by Qwen3 Embedding (and Qwen3): the topic is
    the paper the answer leads with; before, "We" was read as a name, and owned by Qwen3."""
    question = "We want a reranker for our app. Is there a Qwen model for it?"
    assert qa._topic(question, ["arXiv:2506.05176", "arXiv:2505.09388"]) == "Qwen3 Embedding"
    assert qa._topic("What does Qwen3 add over Qwen2.5?", ["arXiv:2505.09388", "arXiv:2506.05176"]) == "Qwen3"


@pytest.mark.parametrize("question", ["perfect, new topic: what is GSPO?", "Fine. Unrelated: what is GSPO?"])
def test_an_acknowledgement_before_a_change_of_topic_is_no_part_of_the_question(qa: QA, question: str) -> None:
    """Before, "fine." and "perfect," stayed in the question, and it was refused."""
    assert without_lead_in(question) == "what is GSPO?"
    assert "Group Sequence Policy Optimization" in qa.ask(question).answer


def test_what_came_out_in_a_month_lists_its_papers(qa: QA) -> None:
    """Before, the best sentence of one paper answered."""
    assert parse("What did the collection publish in January 2025?").kind is Kind.LIST
    answer = qa.ask("What was published in January 2025?")
    assert answer.answer.startswith("These abstracts match:")
    assert set(cited(answer)) == {"arXiv:2501.01257", "arXiv:2501.15383"}


def test_what_is_new_over_the_older_models_is_led_by_what_changed(qa: QA) -> None:
    """A summary asked against the predecessor: the innovation and the sentences naming what came before first.
    Before, the findings came first and the 18-trillion-token change was left out."""
    answer = qa.ask("What is new in Qwen2.5 compared with the last generation?")
    assert "Compared to previous iterations" in answer.answer and "18 trillion" in answer.answer
    answer = qa.ask("What's new in Qwen3 compared to the older models?")
    assert "A key innovation" in answer.answer and "119" in answer.answer


@pytest.mark.parametrize("question", [
    "When precisely will the WavReward data be made public?",  # "after the paper is accepted": no date
    "Does the permutation toolkit run faster on Intel or on ARM?",  # no processor is named
    "What entropy threshold marks a token as forking in the RLVR study?",  # a setting, and no value is given
])
def test_more_details_no_abstract_states_are_refused(qa: QA, question: str) -> None:
    """Before, each was answered with a real but unrelated sentence of the right paper."""
    answer = qa.ask(question)
    assert answer.refused and not answer.citations


def test_is_it_open_source_is_answered_by_its_release_terms(qa: QA) -> None:
    """Before, "Is it open source?" after a turn on Qwen3 was refused: nothing in it was carried by a sentence."""
    *_, last = conversation(qa, "What does Qwen3 introduce?", "Are the models open source?")
    assert "Apache 2.0" in last.answer  # type: ignore[attr-defined]
    assert parse("is GSPO open-weight? (regarding GSPO)").unstated
