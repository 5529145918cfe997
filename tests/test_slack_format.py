"""Slack rendering of answers (ui.slack.format): mrkdwn, linked citations, sources, Slack's limits."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa.types import REFUSAL, Answer, Citation, UnsupportedClaim
from ui.slack.format import (
    MAX_BLOCKS,
    SECTION_LIMIT,
    TEXT_LIMIT,
    SlackMessage,
    answer_mrkdwn,
    error_reply,
    escape,
    plain_text,
    render_answer,
    source_line,
    split_text,
    unescape,
)

QWEN3 = Citation("arXiv:2505.09388", "2505.09388", "Qwen3", "https://arxiv.org/abs/2505.09388",
                 "Qwen3 expands multilingual support from 29 to 119 languages and dialects.")
NO_ID = Citation("doc:1a2b3c4d5e6f", None, None, None, "Scores <improve> by 3% & more.")
QWEN3_LINK = "<https://arxiv.org/abs/2505.09388|arXiv:2505.09388>"
LINK_RE = re.compile(r"<https://arxiv\.org/abs/[^|>]+\|arXiv:[^>]+>")


def answer(text: str, citations: list[Citation] | None = None, refused: bool = False,
           warnings: list[str] | None = None) -> Answer:
    return Answer("q", text, refused, "extractive", citations=citations or [], warnings=warnings or [])


def all_text(messages: list[SlackMessage]) -> str:
    return "\n".join(m.text for m in messages)


def block_texts(message: SlackMessage) -> list[str]:
    out = []
    for block in message.blocks:
        if "text" in block:
            out.append(block["text"]["text"])
        out += [e["text"] for e in block.get("elements", [])]
    return out


def assert_within_limits(messages: list[SlackMessage]) -> None:
    for message in messages:
        assert len(message.blocks) <= MAX_BLOCKS
        assert 0 < len(message.text) <= TEXT_LIMIT
        for text in block_texts(message):
            assert 0 < len(text) <= SECTION_LIMIT


@pytest.mark.parametrize(("raw", "escaped"), [
    ("a < b & c > d", "a &lt; b &amp; c &gt; d"),
    ("&amp; already", "&amp;amp; already"),
    ("<@U1> <!here>", "&lt;@U1&gt; &lt;!here&gt;"),
    ("plain", "plain"),
])
def test_escape_follows_slack_rules_and_round_trips(raw: str, escaped: str) -> None:
    assert escape(raw) == escaped
    assert unescape(escape(raw)) == raw


def test_citations_become_arxiv_links_after_escaping() -> None:
    text = answer_mrkdwn("Scores < 5 & > 2 hold [arXiv:2505.09388].")
    assert text == f"Scores &lt; 5 &amp; &gt; 2 hold [{QWEN3_LINK}]."


@pytest.mark.parametrize(("cited", "rendered"), [
    ("[arXiv:2505.09388; doc:1a2b3c4d5e6f]", f"[{QWEN3_LINK}; doc:1a2b3c4d5e6f]"),
    ("[arxiv: 2505.09388v2]", f"[{QWEN3_LINK}]"),
    ("[doc:1a2b3c4d5e6f]", "[doc:1a2b3c4d5e6f]"),
    ("[arXiv:hep-th/9901001]", "[<https://arxiv.org/abs/hep-th/9901001|arXiv:hep-th/9901001>]"),
])
def test_each_key_of_a_bracket_is_linked_or_left_plain(cited: str, rendered: str) -> None:
    assert answer_mrkdwn(f"Claim {cited}") == f"Claim {rendered}"


def test_markdown_of_llm_answers_becomes_mrkdwn() -> None:
    text = answer_mrkdwn("## Sizes\n**Qwen3** comes in:\n- 0.6B\n* 8B [arXiv:2505.09388]")
    assert text == f"*Sizes*\n*Qwen3* comes in:\n• 0.6B\n• 8B [{QWEN3_LINK}]"


def test_source_line_links_arxiv_papers() -> None:
    line = source_line(QWEN3)
    assert line.startswith(f"• {QWEN3_LINK} *Qwen3*")
    assert "119 languages" in line


def test_source_without_arxiv_id_is_shown_as_such_and_escaped() -> None:
    line = source_line(NO_ID)
    assert line.startswith("• doc:1a2b3c4d5e6f (no arXiv ID)")
    assert "arxiv.org" not in line and "<" not in line
    assert "&lt;improve&gt;" in line and "3% &amp; more" in line


def test_long_snippets_and_titles_are_shortened() -> None:
    long = Citation("arXiv:2505.09388", "2505.09388", "T " * 200, "https://arxiv.org/abs/2505.09388", "word " * 500)
    line = source_line(long)
    assert len(line) < 600 and line.count("…") == 2


def test_answer_with_sources_is_one_compact_message() -> None:
    messages = render_answer(answer("Qwen3 supports 119 languages [arXiv:2505.09388].", [QWEN3]))
    assert len(messages) == 1
    blocks = messages[0].blocks
    assert [b["type"] for b in blocks] == ["section", "context"]
    assert QWEN3_LINK in blocks[0]["text"]["text"]
    sources = blocks[1]["elements"][0]["text"]
    assert sources.startswith("*Sources*\n• ") and "119 languages" in sources
    assert QWEN3_LINK in messages[0].text  # notifications and block-less clients show the links too


def test_refusal_is_stated_plainly_without_sources() -> None:
    messages = render_answer(answer(REFUSAL, [QWEN3], refused=True))
    assert messages == [SlackMessage(REFUSAL, [{"type": "section", "text": {"type": "mrkdwn", "text": REFUSAL}}])]


@pytest.mark.parametrize("text", ["", "  \n "])
def test_an_empty_answer_still_says_something(text: str) -> None:
    assert all_text(render_answer(answer(text, refused=True))) == REFUSAL


def test_warnings_are_shown() -> None:
    messages = render_answer(answer("x [arXiv:2505.09388]", [QWEN3], warnings=["LLM down; answered <extractively>"]))
    assert ":warning: LLM down; answered &lt;extractively&gt;" in messages[0].text


def test_unsupported_claims_are_a_short_escaped_context_line() -> None:
    bad = "Qwen3 supports 250 <languages> & more [arXiv:2505.09388]."
    got = answer(f"Qwen3 is a model family [arXiv:2505.09388]. {bad}", [QWEN3])
    got.unsupported_claims = [UnsupportedClaim(bad, "arXiv:2505.09388", 0.0)]
    (message,) = render_answer(got)
    assert [b["type"] for b in message.blocks] == ["section", "context", "context"]
    assert block_texts(message)[-1] == (":warning: Not supported by the cited abstract: “Qwen3 supports 250 "
                                        f"&lt;languages&gt; &amp; more.” ({QWEN3_LINK}, support 0.00)")


def test_many_unsupported_claims_stay_one_short_line() -> None:
    claims = [UnsupportedClaim(f"Claim {n} " + "word " * 80 + "[arXiv:2505.09388].", "arXiv:2505.09388", 0.1)
              for n in range(12)]
    got = answer(" ".join(c.sentence for c in claims), [QWEN3])
    got.unsupported_claims = claims
    line = block_texts(render_answer(got)[-1])[-1]
    assert line.count("support 0.10") == 5 and line.endswith("; and 7 more") and len(line) < 1500


def test_an_answer_without_unsupported_claims_shows_no_such_line() -> None:
    (message,) = render_answer(answer("Qwen3 supports 119 languages [arXiv:2505.09388].", [QWEN3]))
    assert [b["type"] for b in message.blocks] == ["section", "context"] and "Not supported" not in message.text


def test_long_answer_is_split_within_slack_limits() -> None:
    sentence = "Qwen3 & friends < rivals [arXiv:2505.09388]. "
    text = "\n\n".join(sentence * 40 for _ in range(8))  # ~15 000 characters
    messages = render_answer(answer(text, [QWEN3]))
    assert len(messages) > 3
    assert_within_limits(messages)
    rendered = all_text(messages)
    assert rendered.count(QWEN3_LINK) == text.count("[arXiv:") + 1  # every citation, plus the source
    assert rendered.count("&amp;") == text.count("&")


def test_many_sources_stay_under_fifty_blocks_per_message() -> None:
    cites = [Citation(f"arXiv:2501.{n:05d}", f"2501.{n:05d}", f"Paper {n}", f"https://arxiv.org/abs/2501.{n:05d}",
                      "s " * 1400) for n in range(120)]
    messages = render_answer(answer("Many [arXiv:2501.00001].", cites))
    assert_within_limits(messages)
    assert all_text(messages).count("Paper ") == 120


def test_error_reply_is_one_short_escaped_line() -> None:
    reply = error_reply("the LLM endpoint <http://x> failed:\n  timeout & more\n" + "x " * 500)
    assert reply.text.startswith("Sorry — the LLM endpoint &lt;http://x&gt; failed: timeout &amp; more")
    assert "\n" not in reply.text and len(reply.text) < 400 and reply.blocks == []


@pytest.mark.parametrize(("slack", "plain"), [
    ("<@UBOT> How many languages does Qwen3 support?", "How many languages does Qwen3 support?"),
    ("what about <@UBOT>   this?", "what about this?"),
    ("ask <@U123> or <@U9|alice>", "ask @U123 or @alice"),
    ("see <https://arxiv.org/abs/2505.09388|arXiv:2505.09388>", "see arXiv:2505.09388"),
    ("see <https://example.org/a?b=1&amp;c=2>", "see https://example.org/a?b=1&c=2"),
    ("in <#C1|general> <!here> <!subteam^S1|@team>", "in #general @here @team"),
    ("is a &lt; b &amp;&amp; b &gt; c?", "is a < b && b > c?"),
    ("<@UBOT>", ""),
    ("line one\nline two", "line one\nline two"),
])
def test_plain_text_reads_slack_markup(slack: str, plain: str) -> None:
    assert plain_text(slack, "UBOT") == plain


def test_plain_text_restores_library_citations_from_bot_answers() -> None:
    rendered = render_answer(answer("Qwen3 supports 119 languages [arXiv:2505.09388].", [QWEN3]))[0]
    assert plain_text(rendered.blocks[0]["text"]["text"], "UBOT") == "Qwen3 supports 119 languages [arXiv:2505.09388]."


@pytest.mark.parametrize("limit", [1, 7, 50])
def test_split_text_handles_words_longer_than_the_limit(limit: int) -> None:
    pieces = split_text("x" * 120 + " tail", limit)
    assert all(0 < len(p) <= limit for p in pieces)
    assert "".join(pieces).replace(" ", "") == "x" * 120 + "tail"


def test_split_text_prefers_paragraphs_then_sentences() -> None:
    text = "First para. Second sentence.\n\nSecond para is here."
    assert split_text(text, 40) == ["First para. Second sentence.", "Second para is here."]
    assert split_text("One sentence. Two sentence. Three.", 30) == ["One sentence. Two sentence.", "Three."]


_TOKENS = st.sampled_from([
    "word", "Qwen3", "0.6B", " ", " ", "\n", "\n\n", ". ", "&amp;", "&lt;", "&gt;",
    "<https://arxiv.org/abs/2505.09388|arXiv:2505.09388>", "<https://arxiv.org/abs/2506.05176|the Qwen3 embedding>",
])


@settings(max_examples=300, deadline=None)
@given(st.lists(_TOKENS, max_size=200), st.integers(min_value=60, max_value=400))
def test_split_text_keeps_everything_and_never_breaks_links_or_entities(tokens: list[str], limit: int) -> None:
    text = "".join(tokens)
    pieces = split_text(text, limit)
    assert all(0 < len(p) <= limit for p in pieces)
    assert re.sub(r"\s", "", "".join(pieces)) == re.sub(r"\s", "", text)
    for piece in pieces:
        assert piece.count("<") == piece.count(">")  # whole links only
        assert not re.search(r"&[a-z]*$", piece) and not re.match(r"^[a-z]*;", piece)
    links = [m.group(0) for m in re.finditer(r"<[^>]*>", text)]
    assert [m.group(0) for p in pieces for m in re.finditer(r"<[^>]*>", p)] == links


def test_blocks_are_json_serialisable() -> None:
    json.dumps([m.blocks for m in render_answer(answer("x [arXiv:2505.09388]", [QWEN3, NO_ID]))])
