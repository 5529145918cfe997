"""Follow-up questions made standalone without an LLM."""

from __future__ import annotations

import re

import pytest

from qa.answer.chat import needs_context, standalone_question

HISTORY = [{"role": "user", "content": "What is the Qwen3 Embedding series?"},
           {"role": "assistant", "content": "Text embedding models [arXiv:2506.05176]."}]


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("and what sizes does it come in?", "and what sizes does it come in? (regarding Qwen3 Embedding)"),
        ("What about its license?", "What about its license? (regarding Qwen3 Embedding)"),
        ("How many languages does PolyMath cover?", "How many languages does PolyMath cover?"),
    ],
)
def test_standalone_question(question: str, expected: str) -> None:
    assert standalone_question(question, HISTORY) == expected


def test_no_history_means_no_rewrite() -> None:
    assert standalone_question("and what about it?", []) == "and what about it?"


def test_needs_context() -> None:
    assert needs_context("what sizes are there?") and not needs_context("What sizes does Qwen3 come in?")


def test_itself_points_at_the_questions_own_subject() -> None:
    """A reflexive is bound inside its sentence: "the X series itself" names X, it does not point back."""
    assert not needs_context("And what sizes does the Qwen3 series itself span?")
    assert not needs_context("How do GSPO and GRPO themselves differ?")
    assert needs_context("And what sizes does it span?")
    history = [{"role": "user", "content": "What is Qwen3 Embedding?"},
               {"role": "assistant", "content": "An embedding series. [arXiv:2506.05176]"}]
    assert standalone_question("What parameter range does Qwen3 itself span?", history) == \
        "What parameter range does Qwen3 itself span?"


def test_an_elliptical_follow_up_is_the_last_question_of_the_paper_it_names() -> None:
    papers = {"Qwen2.5", "Qwen2.5-Coder", "Qwen2.5-VL"}
    history = [{"role": "user", "content": "How many tokens was Qwen2.5 trained on?"},
               {"role": "assistant", "content": "18 trillion tokens [doc:73d486c3a6a6]."}]
    def known(name: str) -> bool:
        return name in papers

    assert standalone_question("and the Coder one?", history, known=known) == \
        "How many tokens was Qwen2.5-Coder trained on?"
    assert standalone_question("What about Qwen2.5-VL?", history, known=known) == \
        "How many tokens was Qwen2.5-VL trained on?"
    # a name that is no paper's leaves the old reading
    assert standalone_question("and the 72B one?", history, known=known) == "and the 72B one? (regarding Qwen2.5)"


def test_each_earlier_turn_is_read_as_it_was_meant() -> None:
    """The subject a follow-up passes on is the one it was about, not a name inside it ("MoE")."""
    history = [{"role": "user", "content": "What is Qwen3?"},
               {"role": "assistant", "content": "A model family [arXiv:2505.09388]."},
               {"role": "user", "content": "does it include MoE models?"},
               {"role": "assistant", "content": "Yes, dense and MoE [arXiv:2505.09388]."}]

    def topic(question: str, cited: list[str]) -> str | None:  # as the engine's: a label said, else a name
        return "Qwen3" if "Qwen3" in question else next(iter(re.findall(r"[A-Z][\w\-]*[A-Z0-9]\w*", question)), None)

    assert standalone_question("which license is it under?", history, topic) == \
        "which license is it under? (regarding Qwen3)"


def test_an_ordinal_after_a_list_is_the_paper_listed_there() -> None:
    """"the second one" is the second paper of the answer the user read, named by its label, else its arXiv ID
    (which pins the search); before, it was the topic of the whole list."""
    history = [{"role": "user", "content": "Which papers came out in October 2024?"},
               {"role": "assistant",
                "content": "These abstracts match:\n- A. [arXiv:2410.09335]\n- B. [arXiv:2410.23933]"}]
    labels = {"arXiv:2410.23933": "Self-Lengthen"}

    def topic(question: str, cited: list[str]) -> str | None:
        return next((labels[k] for k in cited if k in labels), None)

    assert standalone_question("and the second one: what does it train?", history, topic) == \
        "and the second one: what does it train? (regarding Self-Lengthen)"
    assert standalone_question("for the first one, which models?", history, topic) == \
        "for the first one, which models? (regarding arXiv:2410.09335)"
    assert standalone_question("the last paper: its data?", history, topic).endswith("(regarding Self-Lengthen)")
    assert "(regarding" not in standalone_question("Which was the first paper to propose MoE?", history, topic)


def test_a_paper_described_by_its_topic_is_the_subject_of_its_own_question() -> None:
    """"the forking-token paper ... do they" names its own paper: before, "they" was read as the last topic."""
    history = [{"role": "user", "content": "What is GSPO?"},
               {"role": "assistant", "content": "GSPO is ... [arXiv:2507.18071]"}]
    question = "And the forking-token paper: what share of tokens do they update?"
    assert standalone_question(question, history, lambda q, cited: "GSPO") == question
    # a paper pointed at, not described, still leans on the turn before
    assert standalone_question("and the same paper: what do they clip?", history,
                               lambda q, cited: "GSPO").endswith("(regarding GSPO)")


def test_back_to_a_subject_named_earlier_is_that_subject() -> None:
    """"back to the Coder models \u2014 ..." after another topic: before, it was read as the last topic."""
    history = [{"role": "user", "content": "What is Qwen2.5-Coder?"},
               {"role": "assistant", "content": "Qwen2.5-Coder is ... [arXiv:2409.12186]"},
               {"role": "user", "content": "Unrelated: what is GSPO?"},
               {"role": "assistant", "content": "GSPO is ... [arXiv:2507.18071]"}]
    labels = {"arXiv:2409.12186": "Qwen2.5-Coder", "arXiv:2507.18071": "GSPO"}

    def topic(question: str, cited: list[str]) -> str | None:
        return next((labels[k] for k in cited if k in labels), None)

    assert standalone_question("back to the Coder models \u2014 how many tokens were they trained on?", history,
                               topic) == "how many tokens were they trained on? (regarding Qwen2.5-Coder)"
    assert standalone_question("ok, back to gspo: what does it clip?", history, topic) == \
        "what does it clip? (regarding GSPO)"


def test_an_ordinal_counts_in_the_last_list_even_after_a_turn_on_one_of_it() -> None:
    """"and the second one" after a question on the first: before, the last answer (one paper) was searched for a
    second paper, and the first paper's topic was kept."""
    history = [{"role": "user", "content": "Which vision-language papers are there?"},
               {"role": "assistant",
                "content": "These abstracts match:\n- A. [arXiv:2409.12191]\n- B. [arXiv:2502.13923]"},
               {"role": "user", "content": "What does the first one introduce?"},
               {"role": "assistant", "content": "Qwen2-VL: M-RoPE ... [arXiv:2409.12191]"}]
    labels = {"arXiv:2409.12191": "Qwen2-VL", "arXiv:2502.13923": "Qwen2.5-VL"}

    def topic(question: str, cited: list[str]) -> str | None:
        return next((labels[k] for k in cited if k in labels), None)

    assert standalone_question("and the second one \u2014 how long can its videos be?", history, topic) == \
        "and the second one \u2014 how long can its videos be? (regarding Qwen2.5-VL)"


def test_a_name_set_before_a_colon_is_what_its_pronouns_mean() -> None:
    """"the generation before, Qwen2: how many languages was it good at?" is about Qwen2: before, "it" was read
    as the last topic, and both were asked about."""
    history = [{"role": "user", "content": "How much data was Qwen2.5 trained on?"},
               {"role": "assistant", "content": "18 trillion tokens. [doc:73d486c3a6a6]"}]
    question = "And the older generation, Qwen2 \u2014 what did its instruct model score?"
    assert standalone_question(question, history, lambda q, cited: "Qwen2.5") == question
    assert standalone_question("Qwen2: and what did it score?", history, lambda q, cited: "Qwen2.5") == \
        "Qwen2: and what did it score?"
    # a pronoun before the name still points back
    assert standalone_question("How does it compare with Qwen2?", history,
                               lambda q, cited: "Qwen2.5").endswith("(regarding Qwen2.5)")


def test_a_date_alone_asks_the_last_question_of_that_date() -> None:
    """"and March 2025?" after a question about January 2025: before, "(regarding <the last topic>)"."""
    history = [{"role": "user", "content": "What came out in January 2025?"},
               {"role": "assistant",
                "content": "These abstracts match:\n- A [arXiv:2501.01257]\n- B [arXiv:2501.15383]"}]
    assert standalone_question("and March 2025?", history, lambda q, cited: "CodeElo") == \
        "What came out in March 2025?"
    assert standalone_question("what about 2024?", history, lambda q, cited: "CodeElo") == "What came out in 2024?"


def test_of_those_is_scoped_to_what_found_the_last_answers_papers() -> None:
    """"of those, which one ..." after a list: the date that found the list, else the papers' IDs; before, the
    list's first paper."""
    listed = {"role": "assistant", "content": "These abstracts match:\n- A [arXiv:2505.10527]\n- B [arXiv:2505.09388]"}
    history = [{"role": "user", "content": "Which papers are from May 2025?"}, listed]
    assert standalone_question("Of those, which one is about preferences?", history, lambda q, cited: "WorldPM") == \
        "Of those, which one is about preferences? (regarding May 2025)"
    history = [{"role": "user", "content": "Which papers use reinforcement learning?"}, listed]
    assert standalone_question("which of them scales a reward model?", history, lambda q, cited: "WorldPM") == \
        "which of them scales a reward model? (regarding arXiv:2505.10527 arXiv:2505.09388)"


def test_its_successor_is_the_next_version_the_store_knows() -> None:
    """"its successor" after Qwen2-VL is Qwen2.5-VL (before: the question stayed about Qwen2-VL)."""
    history = [{"role": "user", "content": "Which sizes does Qwen2-VL have?"},
               {"role": "assistant", "content": "2B, 8B and 72B. [arXiv:2409.12191]"}]
    papers = {"qwen2-vl", "qwen2.5-vl", "qwen3"}

    def known(name: str) -> bool:
        return name.lower() in papers

    def topic(question: str, cited: list[str]) -> str:
        return "Qwen2-VL"

    assert standalone_question("What does its successor add over it?", history, topic, known) == \
        "What does Qwen2.5-VL add over Qwen2-VL?"
    assert standalone_question("and the newer version: how many sizes?", history, topic, known) == \
        "and Qwen2.5-VL: how many sizes?"
    # no earlier version is known: the question stays about the topic
    assert standalone_question("what did the previous version do?", history, topic, known) == \
        "what did the previous version do? (regarding Qwen2-VL)"


def test_a_paper_asked_for_like_the_last_one_is_another_paper() -> None:
    """"Is there a paper that judges speech models like that one?": "that" after "a paper" opens a clause, and
    "like that one" asks for another paper; before, both were read as pointing back, and the last topic was
    asked about."""
    history = [{"role": "user", "content": "What is Qwen2.5-Omni?"},
               {"role": "assistant", "content": "An end-to-end multimodal model. [arXiv:2503.20215]"}]
    question = "Is there a study that judges speech assistants like that one?"
    assert standalone_question(question, history, lambda q, cited: "Qwen2.5-Omni") == question
    # still leaning on the last turn: "that" pointing back
    assert standalone_question("Is there a paper that improves on that?", history,
                               lambda q, cited: "Qwen2.5-Omni").endswith("(regarding Qwen2.5-Omni)")
