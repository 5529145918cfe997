"""The LLM judge of `arxiv-qa eval --judge`: LlamaIndex's `CorrectnessEvaluator` against the reference answer."""

from __future__ import annotations

import asyncio

from qa.errors import BadInput, LLMError
from qa.settings import Settings

OPENAI_API_BASE = "https://api.openai.com/v1"


def require_llm(settings: Settings, judge: bool) -> None:
    """BadInput when the LLM judge is asked for but no LLM is configured."""
    if judge and not settings.llm_configured:
        raise BadInput("--judge needs an LLM: set OPENAI_API_KEY or OPENAI_BASE_URL (see .env.example)")


class Judge:
    """LLM-judge correctness: LlamaIndex's `CorrectnessEvaluator` (1-5 against the reference answer)."""

    def __init__(self, settings: Settings) -> None:
        from llama_index.core.evaluation import CorrectnessEvaluator
        from llama_index.llms.openai_like import OpenAILike

        key = settings.openai_api_key
        llm = OpenAILike(model=settings.llm_model, api_base=settings.openai_base_url or OPENAI_API_BASE,
                         api_key=key.get_secret_value() if key else "no-key", is_chat_model=True,
                         temperature=0.0, timeout=settings.llm_timeout, max_retries=settings.llm_max_retries)
        self.evaluator = CorrectnessEvaluator(llm=llm)
        # One event loop for every call: the LLM client pools its connections on the loop that opened them,
        # and the evaluator's own sync wrapper may start a new loop per call (it does once anything in the
        # process has run and closed a loop), leaving the pool on a closed loop: "Event loop is closed".
        self._loop = asyncio.new_event_loop()

    def score(self, question: str, answer: str, reference: str) -> float | None:
        """The judge's score of `answer`, or None when its reply had no score. Raises `LLMError`."""
        import httpx
        import openai

        try:
            result = self._loop.run_until_complete(
                self.evaluator.aevaluate(query=question, response=answer, reference=reference))
        except (openai.OpenAIError, httpx.HTTPError) as e:
            raise LLMError(f"the LLM judge failed ({type(e).__name__})") from None
        return result.score

    def close(self) -> None:
        self._loop.close()
