"""Prove FakeOpenAI behaves like the OpenAI API as seen by the real ``openai`` client."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from tests.fakes.openai_server import (
    BrokenStream,
    Delay,
    Exchange,
    FakeOpenAI,
    Malformed,
    Reply,
    Status,
)

MESSAGES: list[ChatCompletionMessageParam] = [{"role": "user", "content": "What is attention?"}]


@pytest.fixture
def srv() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


def make_client(srv: FakeOpenAI, key: str = "sk-test", **kw: Any) -> openai.OpenAI:
    options: dict[str, Any] = {"max_retries": 0, "timeout": 5.0, **kw}
    return openai.OpenAI(base_url=srv.base_url, api_key=key, **options)


def ask(client: openai.OpenAI, **kw: Any) -> str:
    resp = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, **kw)
    return resp.choices[0].message.content or ""


def test_base_url_points_at_local_server(srv: FakeOpenAI) -> None:
    assert srv.base_url == f"http://127.0.0.1:{srv.port}/v1"


def test_plain_reply_and_usage(srv: FakeOpenAI) -> None:
    srv.add(Reply("Attention weighs tokens."))
    resp = make_client(srv).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert resp.choices[0].message.content == "Attention weighs tokens."
    assert resp.choices[0].finish_reason == "stop"
    assert resp.model == "gpt-4o-mini"
    assert resp.usage is not None and resp.usage.total_tokens > 0


def test_default_reply_when_script_empty(srv: FakeOpenAI) -> None:
    client = make_client(srv)
    assert ask(client) == "Hello from FakeOpenAI."
    srv.default = Reply("new default")
    assert ask(client) == ask(client) == "new default"


def test_script_is_consumed_in_order() -> None:
    with FakeOpenAI([Reply("one"), Reply("two")], default=Reply("rest")) as srv:
        client = make_client(srv)
        assert [ask(client) for _ in range(3)] == ["one", "two", "rest"]
        assert srv.script == []


def test_streamed_reply_arrives_in_several_chunks(srv: FakeOpenAI) -> None:
    srv.add(Reply("Transformers use self attention."))
    stream = make_client(srv).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    chunks = list(stream)
    pieces = [c.choices[0].delta.content for c in chunks if c.choices[0].delta.content]
    assert len(pieces) > 2
    assert "".join(pieces) == "Transformers use self attention."
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_stream_include_usage_sends_usage_chunk(srv: FakeOpenAI) -> None:
    stream = make_client(srv).chat.completions.create(
        model="gpt-4o-mini",
        messages=MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
    )
    last = list(stream)[-1]
    assert last.choices == [] and last.usage is not None


def test_reply_stream_flag_overrides_request(srv: FakeOpenAI) -> None:
    srv.add(Reply("json anyway", stream=False))
    resp = make_client(srv).chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MESSAGES)
    assert resp.headers["content-type"] == "application/json"
    assert resp.parse().choices[0].message.content == "json anyway"


def test_rate_limit_surfaces_as_rate_limit_error(srv: FakeOpenAI) -> None:
    srv.add(Status(429))
    with pytest.raises(openai.RateLimitError) as info:
        ask(make_client(srv))
    assert info.value.status_code == 429
    assert info.value.response.headers["retry-after"] == "0"
    assert info.value.code == "rate_limit_exceeded"


def test_server_error_surfaces_as_internal_server_error(srv: FakeOpenAI) -> None:
    srv.add(Status(500))
    with pytest.raises(openai.InternalServerError):
        ask(make_client(srv))


def test_status_with_custom_body_and_headers(srv: FakeOpenAI) -> None:
    srv.add(Status(400, {"error": {"message": "context too long"}}, {"x-extra": "1"}))
    with pytest.raises(openai.BadRequestError) as info:
        ask(make_client(srv))
    assert "context too long" in str(info.value)
    assert info.value.response.headers["x-extra"] == "1"


def test_client_retries_are_fast(srv: FakeOpenAI) -> None:
    srv.add(Status(429), Status(500), Reply("third time lucky"))
    started = time.monotonic()
    assert ask(make_client(srv, max_retries=2)) == "third time lucky"
    assert time.monotonic() - started < 1.0
    assert len(srv.chat_requests) == 3


def test_delay_triggers_client_timeout(srv: FakeOpenAI) -> None:
    srv.add(Delay(5))
    started = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        ask(make_client(srv, timeout=0.2))
    assert time.monotonic() - started < 2.0


def test_short_delay_then_answers(srv: FakeOpenAI) -> None:
    srv.add(Delay(0.05, then=Reply("late but fine")))
    assert ask(make_client(srv)) == "late but fine"


def test_broken_stream_raises_during_iteration(srv: FakeOpenAI) -> None:
    srv.add(BrokenStream("The answer is"))
    stream = make_client(srv).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    pieces: list[str] = []
    with pytest.raises(httpx.RemoteProtocolError):
        for chunk in stream:
            pieces.append(chunk.choices[0].delta.content or "")
    assert "".join(pieces) == "The answer is"


def test_broken_non_streamed_response_is_connection_error(srv: FakeOpenAI) -> None:
    srv.add(BrokenStream())
    with pytest.raises(openai.APIConnectionError):
        ask(make_client(srv))


@pytest.mark.parametrize("stream", [False, True])
def test_malformed_body_fails_to_parse(srv: FakeOpenAI, stream: bool) -> None:
    srv.add(Malformed())
    client = make_client(srv)
    with pytest.raises(ValueError):  # json.JSONDecodeError
        result = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=stream)
        if isinstance(result, openai.Stream):
            list(result)


def test_wrong_key_is_rejected_without_consuming_script() -> None:
    with FakeOpenAI([Reply("for the right key")], require_key="sk-test") as srv:
        with pytest.raises(openai.AuthenticationError) as info:
            ask(make_client(srv, key="sk-wrong"))
        assert info.value.code == "invalid_api_key"
        assert ask(make_client(srv, key="sk-test")) == "for the right key"


def test_models_endpoint_lists_one_model(srv: FakeOpenAI) -> None:
    models = make_client(srv).models.list().data
    assert [m.id for m in models] == ["gpt-4o-mini"]


def test_requests_are_recorded(srv: FakeOpenAI) -> None:
    ask(make_client(srv, key="sk-abc"), temperature=0)
    make_client(srv).models.list()
    first, second = srv.requests
    assert (first.method, first.path) == ("POST", "/v1/chat/completions")
    assert first.headers["authorization"] == "Bearer sk-abc"
    assert first.body["model"] == "gpt-4o-mini" and first.body["temperature"] == 0
    assert first.messages == MESSAGES and not first.stream
    assert (second.method, second.path, second.body) == ("GET", "/v1/models", None)
    assert srv.chat_requests == [first]


def test_plain_callable_behaviour(srv: FakeOpenAI) -> None:
    def echo(ex: Exchange) -> None:
        Reply(f"you said: {ex.request.messages[-1]['content']}").serve(ex)

    srv.add(echo)
    assert ask(make_client(srv)) == "you said: What is attention?"


def test_unknown_path_is_404(srv: FakeOpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        make_client(srv).embeddings.create(model="x", input="hi")


def test_shutdown_is_quick_while_delay_sleeps() -> None:
    errors: list[BaseException] = []
    srv = FakeOpenAI([Delay(30)]).start()
    client = make_client(srv, timeout=10.0)

    def call() -> None:
        try:
            ask(client)
        except BaseException as exc:  # collected for the assertion
            errors.append(exc)

    worker = threading.Thread(target=call, daemon=True)
    worker.start()
    while not srv.requests:
        time.sleep(0.01)
    started = time.monotonic()
    srv.stop()
    worker.join(timeout=2)
    assert time.monotonic() - started < 1.0
    assert not worker.is_alive()
    assert isinstance(errors[0], openai.APIConnectionError)


def test_async_client_streams_too(srv: FakeOpenAI) -> None:
    async def collect() -> list[str]:
        async with openai.AsyncOpenAI(base_url=srv.base_url, api_key="sk-test", max_retries=0) as client:
            stream = await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
            return [chunk.choices[0].delta.content or "" async for chunk in stream]

    srv.add(Reply("async works"))
    assert "".join(asyncio.run(collect())) == "async works"
