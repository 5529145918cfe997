"""Answers as Slack messages, and Slack messages as plain text: pure functions, no Slack client.

`render_answer` turns an `Answer` into the thread messages to post: mrkdwn text whose citations
link to arXiv (``<https://arxiv.org/abs/2505.09388|arXiv:2505.09388>``), a compact Sources block
with the supporting snippets and a context line quoting any claim the cited abstract does not
support, split to fit Slack's limits. `error_reply` is the one-line "Sorry — …" of a failure.
`plain_text` reads a Slack message back into the text the library expects (the bot's mention
stripped, links unwrapped, entities decoded), for questions and thread history.

Slack rules followed: ``&``, ``<`` and ``>`` in text are escaped before links are inserted; a
section block holds at most 3000 characters, a message at most 50 blocks and (as plain text)
4000 characters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from qa.answer.citations import BRACKET_RE, KEY_RE, canonical, key_url
from qa.answer.claims import claim_text
from qa.types import REFUSAL, Answer, Citation, UnsupportedClaim

SECTION_LIMIT = 3000
MAX_BLOCKS = 50
TEXT_LIMIT = 4000
SNIPPET_CHARS = 280
ERROR_CHARS = 300
CLAIM_CHARS = 160  # an unsupported claim quoted in its context line
MAX_CLAIMS_SHOWN = 5  # the line stays short (and far under a block's 3000 characters)

Block = dict[str, Any]

# Cut points, best first: paragraph, line, sentence, word.
_SEPARATORS = ("\n\n", "\n", ". ", " ")
_ANGLE_RE = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")
_HEADING_RE = re.compile(r"^#{1,6}\s+(.+?)\s*#*$", re.MULTILINE)
_BULLET_RE = re.compile(r"^([ \t]*)[-*][ \t]+", re.MULTILINE)
_BOLD_RE = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")


@dataclass(frozen=True)
class SlackMessage:
    """One message to post: blocks, and the plain `text` Slack shows in notifications."""

    text: str
    blocks: list[Block] = field(default_factory=list)


def escape(text: str) -> str:
    """Escape Slack's control characters: ``a < b & c`` -> ``a &lt; b &amp; c``."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    """The inverse of `escape`."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def key_link(key: str) -> str:
    """``arXiv:2505.09388`` -> ``<https://arxiv.org/abs/2505.09388|arXiv:2505.09388>``; a doc: key stays text."""
    url = key_url(key)
    return f"<{url}|{key}>" if url else key


def answer_mrkdwn(text: str) -> str:
    """An answer's text as Slack mrkdwn: escaped, Markdown emphasis and lists adapted, citations linked."""
    text = escape(text)
    text = _HEADING_RE.sub(r"*\1*", text)
    text = _BULLET_RE.sub(r"\1• ", text)
    text = _BOLD_RE.sub(r"*\1*", text)

    def link(m: re.Match[str]) -> str:
        return "[" + "; ".join(key_link(canonical(raw)) for raw in KEY_RE.findall(m.group(1))) + "]"

    return BRACKET_RE.sub(link, text)


def shorten(text: str, limit: int) -> str:
    """`text` on one line, cut at a word boundary with "…" when longer than `limit`."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > limit // 2 else limit - 1].rstrip(" ,;:") + "…"


def source_line(citation: Citation) -> str:
    """``• <link|arXiv:ID> *Title* — "snippet"``; a paper without an ID is named ``doc:… (no arXiv ID)``."""
    name = f"<{citation.url}|{citation.key}>" if citation.url else f"{citation.key} (no arXiv ID)"
    parts = [f"• {name}"]
    if citation.title:
        parts.append(f"*{escape(shorten(citation.title, 120))}*")
    if citation.snippet.strip():
        parts.append(f"— “{escape(shorten(citation.snippet, SNIPPET_CHARS))}”")
    return " ".join(parts)


def render_answer(answer: Answer) -> list[SlackMessage]:
    """The thread messages showing `answer`; a refusal is its plain statement, without sources."""
    pieces = split_text(answer_mrkdwn(answer.answer), SECTION_LIMIT) or [escape(REFUSAL)]
    blocks = [_section(piece) for piece in pieces]
    if answer.citations and not answer.refused:
        sources = "*Sources*\n" + "\n".join(source_line(c) for c in answer.citations)
        blocks += [_context(piece) for piece in split_text(sources, SECTION_LIMIT)]
    if answer.unsupported_claims and not answer.refused:
        blocks.append(_context(unsupported_line(answer.unsupported_claims)))
    for warning in answer.warnings:
        blocks.append(_context(f":warning: {escape(shorten(warning, ERROR_CHARS))}"))
    return pack(blocks)


def unsupported_line(claims: list[UnsupportedClaim]) -> str:
    """``:warning: Not supported by the cited abstract: “sentence” (arXiv:…, support 0.00)``, shortened."""
    shown = [f"“{escape(shorten(claim_text(c.sentence), CLAIM_CHARS))}” ({key_link(c.key)}, support {c.support:.2f})"
             for c in claims[:MAX_CLAIMS_SHOWN]]
    more = f"; and {len(claims) - MAX_CLAIMS_SHOWN} more" if len(claims) > MAX_CLAIMS_SHOWN else ""
    return f":warning: Not supported by the cited abstract: {'; '.join(shown)}{more}"


def error_reply(message: str) -> SlackMessage:
    """A failure as one short line: ``Sorry — the LLM endpoint timed out.``"""
    line = shorten(message, ERROR_CHARS).rstrip(".") + "."
    return SlackMessage(f"Sorry — {escape(line)}")


def pack(blocks: list[Block]) -> list[SlackMessage]:
    """Blocks (each text ≤ 3000 characters) grouped into messages of ≤ 50 blocks and ≤ 4000 characters."""
    messages: list[SlackMessage] = []
    current: list[Block] = []
    for block in blocks:
        candidate = [*current, block]
        if current and (len(candidate) > MAX_BLOCKS or len(_fallback(candidate)) > TEXT_LIMIT):
            messages.append(SlackMessage(_fallback(current), current))
            candidate = [block]
        current = candidate
    if current:
        messages.append(SlackMessage(_fallback(current), current))
    return messages


def split_text(text: str, limit: int) -> list[str]:
    """`text` in pieces of at most `limit` characters, cut at the best boundary (paragraph, line,
    sentence, word) and never inside a ``<link>`` or an ``&entity;``."""
    pieces: list[str] = []
    text = text.strip()
    while len(text) > limit:
        cut = _cut(text, limit)
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        pieces.append(text)
    return [p for p in pieces if p]


def plain_text(text: str, bot_user_id: str | None = None) -> str:
    """A Slack message as plain text: ``<@UBOT> is <https://x|this> &lt;ok&gt;?`` -> ``is this <ok>?``."""

    def unwrap(m: re.Match[str]) -> str:
        target, label = m.group(1), m.group(2)
        if target.startswith("@"):
            return "" if target[1:] == bot_user_id else f"@{label or target[1:]}"
        if target.startswith("#"):
            return f"#{label or target[1:]}"
        if target.startswith("!"):  # <!here>, <!subteam^S1|@team>
            return label or f"@{target[1:]}"
        return label or target

    text = unescape(_ANGLE_RE.sub(unwrap, text))
    return re.sub(r"[ \t]{2,}", " ", text).strip()


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def _block_text(block: Block) -> str:
    if "text" in block:
        return str(block["text"]["text"])
    return "\n".join(str(e.get("text", "")) for e in block.get("elements", []))


def _fallback(blocks: list[Block]) -> str:
    return "\n".join(_block_text(b) for b in blocks)


def _inside(text: str, pos: int) -> bool:
    """Would cutting `text` at `pos` split a ``<link>`` or an ``&entity;``?"""
    if text.rfind("<", 0, pos) > text.rfind(">", 0, pos):
        return True
    amp = text.rfind("&", 0, pos)
    return amp >= 0 and pos - amp < 6 and ";" not in text[amp:pos]


def _cut(text: str, limit: int) -> int:
    """Where to end the first piece: after the best separator within `limit`, else a safe hard cut."""
    for sep in _SEPARATORS:
        end = limit
        while (i := text.rfind(sep, 0, end)) > 0:
            if not _inside(text, i + len(sep)):
                return i + len(sep)
            end = i + len(sep) - 1
    pos = limit
    while pos > 0 and _inside(text, pos):
        pos -= 1
    return pos or limit
