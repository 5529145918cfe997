"""The LLM answerer: any OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, llama.cpp server).

Passages go to the model labelled by their keys and fenced as untrusted data; the answer streams
back. Timeouts and retries with backoff on 429/5xx/connection errors are the `openai` client's;
what still fails becomes an `LLMError` with a one-line reason that never contains the key.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Sequence
from contextlib import closing
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

import httpx
import openai

from qa.answer import prompts
from qa.answer.chat import Message
from qa.errors import LLMError
from qa.papers import Paper
from qa.settings import Settings, redact
from qa.types import Passage


class Redactor:
    """Scrubs secrets from streamed text, holding back a tail so a secret split across pieces is caught."""

    def __init__(self, secrets: Sequence[str]) -> None:
        self.secrets = [s for s in secrets if s]
        self.hold = max((len(s) for s in self.secrets), default=1) - 1
        self.buffer = ""

    def scrub(self, text: str) -> str:
        return redact(text, self.secrets)

    def feed(self, piece: str) -> str:
        """The part of the text so far that is safe to show."""
        self.buffer = self.scrub(self.buffer + piece)
        cut = max(0, len(self.buffer) - self.hold)
        out, self.buffer = self.buffer[:cut], self.buffer[cut:]
        return out

    def flush(self) -> str:
        out, self.buffer = self.scrub(self.buffer), ""
        return out


def fence(text: str) -> str:
    """Abstract text made safe to put between <abstract> tags (it cannot close the fence)."""
    return text.replace("<", "&lt;").replace(">", "&gt;")


def build_context(passages: Sequence[Passage], papers: dict[str, Paper | None]) -> str:
    """The passages labelled by key, plus the other versions of any paper whose copies disagree."""
    blocks, seen = [], set()
    for p in passages:
        blocks.append(prompts.PASSAGE.format(key=p.chunk.doc_key, extra="", text=fence(p.chunk.text)))
        paper = papers.get(p.chunk.doc_key)
        if paper and len(paper.variants) > 1 and paper.doc_key not in seen:
            seen.add(paper.doc_key)
            for n, variant in enumerate(paper.variants[1:], 2):
                extra = f' version="{n} of {len(paper.variants)}"'
                blocks.append(prompts.PASSAGE.format(key=paper.doc_key, extra=extra, text=fence(variant.text)))
    return "\n\n".join(blocks)


def _endpoint(settings: Settings) -> str:
    """Where the endpoint is, for error messages: scheme and host only (no credentials, no path)."""
    if not settings.openai_base_url:
        return "the OpenAI API"
    parts = urlsplit(settings.openai_base_url)
    return f"{parts.scheme}://{parts.hostname}{':' + str(parts.port) if parts.port else ''}"


class EmptyReply(ValueError):
    """A reply without any answer text: what a non-JSON HTTP 200 (an HTML page, say) streams as."""


def _reason(error: Exception, settings: Settings) -> str:
    """A one-line, secret-free account of what went wrong."""
    where = _endpoint(settings)
    retries = settings.llm_max_retries
    if isinstance(error, EmptyReply):
        return f"{where} sent no answer text (not a chat-completions reply)"
    if isinstance(error, openai.AuthenticationError):
        return f"{where} rejected the API key (401); check OPENAI_API_KEY"
    if isinstance(error, openai.RateLimitError):
        return f"{where} kept rate-limiting (429) after {retries} retries"
    if isinstance(error, openai.APITimeoutError):
        return f"{where} did not answer within {settings.llm_timeout:g} s ({retries} retries)"
    if isinstance(error, openai.APIStatusError):
        return f"{where} failed with HTTP {error.status_code} after {retries} retries"
    if isinstance(error, openai.APIConnectionError):
        return f"cannot reach {where}"
    if isinstance(error, httpx.HTTPError):
        return f"the answer stream from {where} broke off"
    return f"{where} sent a reply that is not valid ({type(error).__name__})"


# What a failing endpoint can raise, beyond the openai errors: a cut stream, a malformed chunk.
_FAILURES = (openai.OpenAIError, httpx.HTTPError, ValueError)


class LLM:
    """A chat model behind an OpenAI-compatible endpoint."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.model = settings.llm_model

    @cached_property
    def client(self) -> openai.OpenAI:
        return openai.OpenAI(
            # Local servers (Ollama, llama.cpp) need no key, but the client insists on one.
            api_key=self.settings.secret("openai_api_key") or "no-key",
            base_url=self.settings.secret("openai_base_url"),
            timeout=self.settings.llm_timeout,
            max_retries=self.settings.llm_max_retries,
        )

    def stream(self, messages: list[dict[str, str]]) -> Iterator[str]:
        """The reply's text as it arrives. Raises `LLMError`.

        A stream that breaks (or ends) before any text is tried again (as many times as requests
        are); one that breaks after text was shown is an error, so nothing is said twice. Text past
        `llm_max_reply_chars` is not read.
        """
        for attempt in range(self.settings.llm_max_retries + 1):
            produced = False
            try:
                for piece in self._capped(messages):
                    produced = True
                    yield piece
                if not produced:
                    raise EmptyReply
                return
            except _FAILURES as e:
                retryable = isinstance(e, httpx.HTTPError | ValueError) and not produced
                if not retryable or attempt == self.settings.llm_max_retries:
                    raise LLMError(f"LLM failed: {_reason(e, self.settings)}") from None

    def _capped(self, messages: list[dict[str, str]]) -> Iterator[str]:
        left = self.settings.llm_max_reply_chars
        with closing(self._pieces(messages)) as pieces:  # closing it closes the connection
            for piece in pieces:
                yield piece[:left]
                left -= len(piece)
                if left <= 0:
                    return

    def _pieces(self, messages: list[dict[str, str]]) -> Generator[str, None, None]:
        response: Any = self.client.chat.completions.create(
            model=self.model, messages=messages, stream=True, temperature=0  # type: ignore[arg-type]
        )
        with response:
            for chunk in response:
                if chunk.choices and chunk.choices[0].delta.content:
                    yield chunk.choices[0].delta.content

    def complete(self, messages: list[dict[str, str]], max_tokens: int = 200) -> str:
        """One whole reply (no streaming). Raises `LLMError`."""
        try:
            reply = self.client.chat.completions.create(
                model=self.model, messages=messages, temperature=0, max_tokens=max_tokens  # type: ignore[arg-type]
            )
        except _FAILURES as e:
            raise LLMError(f"LLM failed: {_reason(e, self.settings)}") from None
        if not hasattr(reply, "choices"):  # a non-JSON HTTP 200 comes back as its text
            raise LLMError(f"LLM failed: {_reason(EmptyReply(), self.settings)}")
        text = (reply.choices[0].message.content or "") if reply.choices else ""
        return text[: self.settings.llm_max_reply_chars].strip()

    def answer_messages(self, question: str, context: str) -> list[dict[str, str]]:
        return [
            {"role": "system", "content": prompts.ANSWER_SYSTEM},
            {"role": "user", "content": prompts.ANSWER_USER.format(context=context, question=question)},
        ]

    def rewrite(self, question: str, history: Sequence[Message]) -> str:
        """The follow-up `question` made standalone by the model."""
        turns = "\n".join(f"{m['role']}: {m['content'][:1000]}" for m in history[-6:])
        text = self.complete([
            {"role": "system", "content": prompts.REWRITE_SYSTEM},
            {"role": "user", "content": prompts.REWRITE_USER.format(history=turns, question=question)},
        ], max_tokens=120)
        return text.splitlines()[0].strip() if text else question
