"""The page's pure parts: answers and sources as HTML (escaped, links only from Citation.url), the
controls' parsing, the feedback file, and the conversation a session keeps."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import gradio as gr
import pytest

from qa.errors import BadInput, QAError
from qa.papers import Chunk
from qa.types import Answer, Citation, Passage, UnsupportedClaim
from tests.conftest import make_settings
from ui.web import render
from ui.web.app import Conversation, Turn, user_error
from ui.web.feedback import record_feedback
from ui.web.inputs import mode_choices, mode_label, month_range, month_span, parse_month

EVIL = "<script>alert(1)</script><b>bold</b>"
QWEN3 = Citation("arXiv:2505.09388", "2505.09388", "Qwen3", "https://arxiv.org/abs/2505.09388",
                 "Qwen3 expands multilingual support from 29 to 119 languages.")
DOC = Citation("doc:575304d32a8f", None, "PolyMath", None, "PolyMath covers 18 languages.")


def passage(key: str, text: str, arxiv_id: str | None = None) -> Passage:
    chunk = Chunk(f"{key}#0:abc", key, text, arxiv_id, date(2025, 5, 1), None, "f.txt", 0)
    return Passage(chunk, 0.5)


def answer(text: str, citations: list[Citation], mode: str = "extractive", **kw: object) -> Answer:
    return Answer("How many languages?", text, False, mode, citations=citations, **kw)  # type: ignore[arg-type]


def text_of(html: str) -> str:
    """The answer's text, without the sources and BibTeX under it."""
    return html.split('<details class="answer-sources">')[0]


def test_arxiv_citation_is_a_link_built_from_its_url() -> None:
    html = render.answer_html(answer("Qwen3 supports 119 languages. [arXiv:2505.09388]", [QWEN3]))
    assert '<a class="cite k-arXiv-2505-09388" href="https://arxiv.org/abs/2505.09388"' in html
    assert ">arXiv:2505.09388</a>" in html and 'rel="noopener"' in html


def test_doc_key_is_a_source_without_a_link() -> None:
    html = render.answer_html(answer("PolyMath covers 18 languages. [doc:575304d32a8f]", [DOC]))
    assert "doc:575304d32a8f" in html and "<a " not in html and "no arXiv ID" in html


def test_a_key_the_library_did_not_confirm_stays_plain_text() -> None:
    html = render.answer_html(answer("Claim. [arXiv:2501.00001] Other. [arXiv:2505.09388]", [QWEN3]))
    assert "[arXiv:2501.00001]" in html and "arxiv.org/abs/2501.00001" not in html


def test_several_keys_in_one_bracket() -> None:
    html = text_of(render.answer_html(answer("Both. [arXiv:2505.09388; doc:575304d32a8f]", [QWEN3, DOC])))
    assert html.count('class="cite') == 2


@pytest.mark.parametrize("url", ["javascript:alert(1)", "https://evil.example/abs/1", 'https://arxiv.org/abs/1"x',
                                 "http://arxiv.org/abs/2505.09388", None])
def test_only_arxiv_pages_become_links(url: str | None) -> None:
    cited = Citation("arXiv:2505.09388", "2505.09388", "T", url, "s")
    html = render.answer_html(answer("Claim. [arXiv:2505.09388]", [cited]))
    assert "href" not in html


def test_abstract_html_in_answer_and_sources_is_escaped() -> None:
    evil = Citation("doc:0123456789ab", None, EVIL, None, f"{EVIL} Zorblax compresses flux.")
    got = answer(f"{EVIL} Zorblax compresses flux. [doc:0123456789ab]", [evil],
                 passages=[passage("doc:0123456789ab", f"{EVIL} Zorblax compresses flux. It is new.")])
    for html in (render.answer_html(got), render.sources_html(got), render.preview_html(got.answer)):
        assert "<script" not in html and "<b>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;b&gt;bold&lt;/b&gt;" in html


def test_markdown_and_bare_urls_stay_text() -> None:
    html = text_of(render.answer_html(answer("See [x](javascript:alert(1)) and https://evil.example. "
                                             "[arXiv:2505.09388]", [QWEN3])))
    assert html.count("href=") == 1  # only the citation


def test_preview_shows_keys_unlinked_until_checked() -> None:
    html = render.preview_html("Qwen3 supports 119 [arXiv:2505.09388]")
    assert "[arXiv:2505.09388]" in html and "href" not in html
    assert render.preview_html("") == render.THINKING


def test_list_answer_is_a_list() -> None:
    html = render.answer_html(answer("These abstracts match:\n- A [arXiv:2505.09388]\n- B [doc:575304d32a8f]",
                                     [QWEN3, DOC]))
    assert html.count("<li>") == 2 and "These abstracts match:" in html


def test_refusal_warnings_and_rewritten_follow_up_are_shown() -> None:
    got = Answer("And it?", "The retrieved abstracts do not answer this question.", True, "extractive",
                 warnings=["the endpoint timed out; answered extractively instead"],
                 standalone_question="And it? (regarding <Qwen3>)", timings={"total": 1.25})
    html = render.answer_html(got)
    assert 'class="answer-body refused"' in html and "timed out" in html and "1.2 s" in html
    assert "regarding &lt;Qwen3&gt;" in html


def test_unsupported_claims_are_marked_and_listed_escaped() -> None:
    bad = f"Qwen3 supports 250 {EVIL} languages [arXiv:2505.09388]."
    text = f"These abstracts match:\n- Qwen3 supports 119 languages [arXiv:2505.09388].\n- {bad}"
    html = render.answer_html(answer(text, [QWEN3],
                                     unsupported_claims=[UnsupportedClaim(bad, "arXiv:2505.09388", 0.0)]))
    assert "<script" not in html and "<b>" not in html
    assert html.count("<li>") == 3  # the two answer items, then the one claim under the answer, still a list
    assert ('<li><span class="unsupported-claim" title="not supported by the cited abstract">Qwen3 supports 250 '
            "&lt;script&gt;") in html
    assert 'languages [<a class="cite k-' in html and "</a>].</span></li>" in html  # the citation stays a link
    assert ('<p class="warning">⚠ Not supported by the cited abstract:</p><ul><li>“Qwen3 supports 250 &lt;script&gt;'
            "alert(1)&lt;/script&gt;&lt;b&gt;bold&lt;/b&gt; languages.” [arXiv:2505.09388] · support 0.00</li>") in html


def test_an_answer_without_unsupported_claims_looks_as_before() -> None:
    got = answer("Qwen3 supports 119 languages [arXiv:2505.09388].", [QWEN3], mode="llm")
    html = render.answer_html(got)
    assert "unsupported" not in html and "⚠" not in html
    assert html.startswith('<div class="answer-body"><p>Qwen3 supports 119 languages '
                           '[<a class="cite k-arXiv-2505-09388"')
    assert html.count('<button type="button" class="copy-answer">Copy answer</button>') == 1


def test_sources_highlight_the_cited_sentence_with_context() -> None:
    text = ("First sentence here. Second one sits before. Qwen3 expands multilingual support from 29 to 119 "
            "languages. Then a follow-on sentence. Far away sentence. Last sentence.")
    got = answer("x [arXiv:2505.09388]", [QWEN3], passages=[passage("arXiv:2505.09388", text, "2505.09388")])
    html = render.sources_html(got)
    assert "<mark>Qwen3 expands multilingual support from 29 to 119 languages.</mark>" in html
    assert "Second one sits before." in html and "Then a follow-on sentence." in html
    assert "Far away sentence" not in html and "First sentence" not in html and "…" in html
    assert 'href="https://arxiv.org/abs/2505.09388"' in html and "Qwen3" in html


def test_sources_of_a_doc_key_and_a_snippet_not_in_any_passage() -> None:
    html = render.sources_html(answer("x [doc:575304d32a8f]", [DOC]))
    assert "<mark>PolyMath covers 18 languages.</mark>" in html and "no arXiv ID" in html and "href" not in html
    assert render.sources_html(None) == render.EMPTY_SOURCES


def test_status_line() -> None:
    line = render.status_html({"papers": 1234, "chunks": 5678}, "LLM <m>", "ingesting")
    assert "1,234 papers" in line and "5,678 chunks" in line and "LLM &lt;m&gt;" in line and "ingesting" in line


@pytest.mark.parametrize(("value", "expected"), [
    ("2025-05", 202505), ("202505", 202505), ("2025/5", 202505), (" 2024-12 ", 202412), ("any", None), ("", None),
    (None, None),
])
def test_parse_month(value: str | None, expected: int | None) -> None:
    assert parse_month(value) == expected


@pytest.mark.parametrize("value", ["2025-13", "2025-00", "May 2025", "25-05", "2025-05-01", "<b>x</b>"])
def test_bad_month_is_bad_input(value: str) -> None:
    with pytest.raises(BadInput, match=r"is not a month \(YYYY-MM\)"):
        parse_month(value)


def test_month_range_order() -> None:
    assert month_range("2025-01", "2025-03") == (202501, 202503)
    assert month_range(None, "2025-03") == (None, 202503)
    with pytest.raises(BadInput, match="after"):
        month_range("2025-04", "2025-03")


def test_month_span_of_the_ids() -> None:
    assert month_span(["2505.09388", "2407.10671", "2505.00001", "hep-th/9901001"]) == "2024-07 to 2025-05"
    assert month_span(["hep-th/9901001"]) == ""


def test_mode_choices_and_label(tmp_path: Path) -> None:
    plain = make_settings(tmp_path)
    with_llm = make_settings(tmp_path, openai_base_url="http://127.0.0.1:9/v1", llm_model="qwen3-8b")
    assert [v for _, v in mode_choices(plain)] == ["auto", "extractive"]
    assert ("LLM (qwen3-8b)", "llm") in mode_choices(with_llm)
    assert mode_label("extractive", plain) == "extractive" and mode_label("llm", with_llm) == "LLM qwen3-8b"


def test_feedback_is_appended_as_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "store" / "feedback.jsonl"
    got = answer("Qwen3 supports 119 languages. [arXiv:2505.09388]", [QWEN3])
    record_feedback(path, got, "up")
    record_feedback(path, got, "down")
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["vote"] for r in lines] == ["up", "down"]
    assert {"time", "question", "answer", "citations", "vote"} <= set(lines[0])
    assert lines[0]["citations"][0]["url"] == "https://arxiv.org/abs/2505.09388"


def test_feedback_to_an_unwritable_place_is_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(QAError, match="cannot write feedback"):
        record_feedback(tmp_path / "file" / "feedback.jsonl", answer("x", []), "up")


def test_conversation_history_keeps_answered_turns_only() -> None:
    convo = Conversation([Turn("What is Qwen3?", answer=answer("Qwen3 is a model. [arXiv:2505.09388]", [QWEN3])),
                          Turn("And <it>?")])  # the second failed: no answer
    assert convo.history() == [{"role": "user", "content": "What is Qwen3?"},
                               {"role": "assistant", "content": "Qwen3 is a model. [arXiv:2505.09388]"}]
    shown = convo.messages()
    assert len(shown) == 4 and shown[2]["content"] == "And &lt;it&gt;?"


def test_errors_for_the_page_are_escaped() -> None:
    error = user_error(BadInput("from: '<img src=x onerror=alert(1)>' is not a month"))
    assert isinstance(error, gr.Error) and "<img" not in error.message and "&lt;img" in error.message


def test_each_answer_carries_its_own_sources_full_abstracts_and_bibtex() -> None:
    got = answer("Both. [arXiv:2505.09388; doc:575304d32a8f]", [QWEN3, DOC])
    html = render.answer_html(got, {"doc:575304d32a8f": f"PolyMath in full. {EVIL}"}, "@misc{2505.09388,\n<b>}")
    sources = html.split('<details class="answer-sources">')[1]
    assert sources.startswith("<summary>Sources (2)</summary>")
    assert '<div class="source k-arXiv-2505-09388">' in sources and '<div class="source k-doc-575304d32a8f">' in sources
    assert sources.count('<details class="full-abstract">') == 1  # only the abstract that was given
    assert "<p>PolyMath in full. &lt;script&gt;" in sources and "<b>" not in html
    assert '<details class="bibtex"><summary>BibTeX</summary><pre>@misc{2505.09388,\n&lt;b&gt;}</pre>' in html
    assert "answer-sources" not in render.answer_html(Answer("Q?", "No.", True, "extractive"))
