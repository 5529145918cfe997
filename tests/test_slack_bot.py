"""The Slack bot end to end: events dispatched through Bolt, answers from the real QA over the bundled
corpus, Slack's Web API played by FakeSlack on 127.0.0.1, HTTP requests signed with the signing secret."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import re
import secrets
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import pytest
from pydantic import SecretStr
from slack_bolt import App, BoltRequest
from slack_bolt.adapter.socket_mode.internals import run_bolt_app
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode.request import SocketModeRequest

from qa.answer.engine import QA
from qa.errors import LLMError
from qa.settings import Settings
from qa.types import REFUSAL
from tests.fakes.slack_server import FakeSlack
from ui.slack.bot import _logging, build_app, connect, http_server, log_handler, run

BOT_TOKEN = "xoxb-PLANTED-bot-token-7f3a"
SIGNING_SECRET = "PLANTED-signing-secret-91c2"
QWEN3_LINK = "<https://arxiv.org/abs/2505.09388|arXiv:2505.09388>"
EMBEDDING_LINK = "<https://arxiv.org/abs/2506.05176|arXiv:2506.05176>"
TS = "1699000000.000100"
MAX_BODY = 64 * 1024


@pytest.fixture(scope="module")
def engine(corpus_store: Settings) -> QA:
    qa = QA(corpus_store)
    assert qa.warm
    return qa


class FailingQA(QA):
    """The real QA, except that asking raises `error`."""

    def __init__(self, settings: Settings, error: Exception) -> None:
        super().__init__(settings)
        self.error = error

    def ask(self, *args: Any, **kwargs: Any) -> Any:
        raise self.error


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


def make_app(fake: FakeSlack, qa: QA) -> App:
    client = WebClient(token=BOT_TOKEN, base_url=fake.base_url, timeout=10)
    return build_app(qa, client, SIGNING_SECRET, process_before_response=True)


@pytest.fixture
def app(fake: FakeSlack, engine: QA) -> App:
    return make_app(fake, engine)


def mention(text: str, ts: str = TS, **extra: Any) -> dict[str, Any]:
    return {"type": "app_mention", "user": "U1", "text": text, "ts": ts, "channel": "C1", "event_ts": ts, **extra}


def direct(text: str, ts: str = TS, **extra: Any) -> dict[str, Any]:
    return {"type": "message", "channel_type": "im", "user": "U1", "text": text, "ts": ts, "channel": "D1", **extra}


def envelope(event: dict[str, Any], event_id: str = "Ev0001") -> dict[str, Any]:
    return {"token": "verification-token", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
            "event_id": event_id, "event_time": 1699000000, "event": event}


def signed_headers(raw: str, secret: str = SIGNING_SECRET, age: int = 0) -> dict[str, str]:
    timestamp = str(int(time.time()) - age)
    signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=raw)
    return {"Content-Type": "application/json", "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": signature or ""}


def deliver(app: App, event: dict[str, Any], event_id: str = "Ev0001", retry: int | None = None) -> None:
    raw = json.dumps(envelope(event, event_id))
    headers = signed_headers(raw)
    if retry is not None:
        headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
    response = app.dispatch(BoltRequest(body=raw, headers={k.lower(): v for k, v in headers.items()}))
    assert response.status == 200


def test_mention_is_answered_in_its_thread_with_arxiv_link(app: App, fake: FakeSlack) -> None:
    deliver(app, mention("<@UBOT> How many languages does Qwen3 support?"))
    posted = fake.posted()
    assert len(posted) == 1
    post = posted[0]
    assert (post["channel"], post["thread_ts"]) == ("C1", TS)
    assert QWEN3_LINK in post["text"] and "119" in post["text"]
    assert QWEN3_LINK in json.dumps(post["blocks"])
    assert "*Sources*" in post["text"]
    assert post["unfurl_links"] is False
    assert fake.calls_of("conversations.replies") == []  # a new thread has no history


def test_paper_without_id_is_cited_as_such_never_linked(app: App, fake: FakeSlack) -> None:
    deliver(app, mention("<@UBOT> How many languages does PolyMath cover?"))
    [post] = fake.posted()
    assert "18 languages" in post["text"]
    [key] = set(re.findall(r"doc:[0-9a-f]{12}", post["text"]))
    assert f"[{key}]" in post["text"] and f"• {key} (no arXiv ID)" in post["text"]
    assert f"|{key}>" not in post["text"] and "arxiv.org" not in post["text"]


def test_refusal_is_posted_plainly(app: App, fake: FakeSlack) -> None:
    deliver(app, mention("<@UBOT> What is the best recipe for banana bread?"))
    [post] = fake.posted()
    assert post["text"] == REFUSAL and post["thread_ts"] == TS


def test_eyes_reaction_while_working(app: App, fake: FakeSlack) -> None:
    deliver(app, mention("<@UBOT> What does CodeElo measure?"))
    order = [c.method for c in fake.calls if c.method in ("reactions.add", "chat.postMessage", "reactions.remove")]
    assert order == ["reactions.add", "chat.postMessage", "reactions.remove"]
    expected = {"channel": "C1", "timestamp": TS, "name": "eyes"}.items()
    [added], [removed] = fake.calls_of("reactions.add"), fake.calls_of("reactions.remove")
    assert added.items() >= expected and removed.items() >= expected


def test_direct_message_over_socket_mode(app: App, fake: FakeSlack) -> None:
    # Socket Mode requests are not signed: the WebSocket itself is authenticated by the app token.
    request = SocketModeRequest(type="events_api", envelope_id="env-1",
                                payload=envelope(direct("What model sizes does Qwen3 Embedding come in?")))
    assert run_bolt_app(app, request).status == 200
    post = fake.posted()[0]
    assert (post["channel"], post["thread_ts"]) == ("D1", TS)
    assert EMBEDDING_LINK in post["text"] and "0.6B" in post["text"]


def test_follow_up_in_a_thread_uses_its_history(app: App, fake: FakeSlack, engine: QA,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[tuple[str, Any, Any]] = []
    ask = engine.ask

    def spy(question: str, history: Any = (), **kw: Any) -> Any:
        asked.append((question, history, answer := ask(question, history, **kw)))
        return answer

    monkeypatch.setattr(engine, "ask", spy)
    fake.threads[("C1", TS)] = [
        {"type": "message", "user": "U1", "ts": TS, "text": "<@UBOT> What is Qwen3 Embedding?"},
        {"type": "message", "user": "UBOT", "bot_id": "BBOT", "ts": "1699000000.000200",
         "text": f"Qwen3 Embedding is a series of text embedding models [{EMBEDDING_LINK}]."},
        {"type": "message", "user": "U1", "ts": "1699000000.000300", "text": "<@UBOT> and what sizes does it come in?"},
    ]
    deliver(app, mention("<@UBOT> and what sizes does it come in?", ts="1699000000.000300", thread_ts=TS))
    assert fake.calls_of("conversations.replies")[0].items() >= {"channel": "C1", "ts": TS}.items()
    post = fake.posted()[0]
    assert post["thread_ts"] == TS
    assert EMBEDDING_LINK in post["text"] and "0.6B" in post["text"]
    [(question, history, answer)] = asked
    assert question == "and what sizes does it come in?"
    assert history == [
        {"role": "user", "content": "What is Qwen3 Embedding?"},
        {"role": "assistant", "content": "Qwen3 Embedding is a series of text embedding models [arXiv:2506.05176]."},
    ]
    assert "Qwen3 Embedding" in (answer.standalone_question or "")


def test_unreadable_thread_is_answered_without_history(app: App, fake: FakeSlack) -> None:
    fake.fail["conversations.replies"] = "missing_scope"
    deliver(app, mention("<@UBOT> How many languages does Qwen3 support?", ts="1699000000.000300", thread_ts=TS))
    assert QWEN3_LINK in fake.posted()[0]["text"]


@pytest.mark.parametrize("event", [
    direct("How many languages does Qwen3 support?", user="UBOT", bot_id="BBOT"),
    direct("How many languages does Qwen3 support?", user=None, bot_id="B2", subtype="bot_message"),
    mention("<@UBOT> How many languages does Qwen3 support?", user="U2", bot_id="B2"),
    direct("How many languages?", subtype="message_changed"),
], ids=["own message", "other bot", "other bot mentioning", "edit"])
def test_bot_messages_are_ignored(app: App, fake: FakeSlack, event: dict[str, Any]) -> None:
    deliver(app, event)
    assert fake.posted() == []
    assert fake.calls_of("reactions.add") == []


@pytest.mark.parametrize(("second_id", "second"), [
    ("Ev0001", mention("<@UBOT> How many languages does Qwen3 support?")),
    ("Ev0002", direct("<@UBOT> How many languages does Qwen3 support?", channel="C1")),
], ids=["retry of the same event", "same message as another event"])
def test_repeated_delivery_is_answered_once(app: App, fake: FakeSlack, second_id: str,
                                            second: dict[str, Any]) -> None:
    deliver(app, mention("<@UBOT> How many languages does Qwen3 support?"))
    deliver(app, second, event_id=second_id, retry=1)
    assert len(fake.posted()) == 1
    assert len(fake.calls_of("reactions.add")) == 1


def test_library_error_becomes_a_short_reply(fake: FakeSlack, corpus_store: Settings,
                                             caplog: pytest.LogCaptureFixture) -> None:
    app = make_app(fake, FailingQA(corpus_store, LLMError("the LLM endpoint timed out after 3 retries")))
    with caplog.at_level(logging.INFO, logger="ui.slack.bot"):
        deliver(app, mention("<@UBOT> How many languages does Qwen3 support?"))
    [post] = fake.posted()
    assert post["thread_ts"] == TS
    assert post["text"] == "Sorry — the LLM endpoint timed out after 3 retries."
    assert fake.calls_of("reactions.remove")  # 👀 removed even so
    assert any("LLMError" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)


def test_secret_in_an_error_message_is_redacted(fake: FakeSlack, corpus_store: Settings,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    app = make_app(fake, FailingQA(corpus_store, LLMError(f"the endpoint rejected the key {BOT_TOKEN}")))
    with caplog.at_level(logging.INFO, logger="ui.slack.bot"):
        deliver(app, mention("<@UBOT> How many languages does Qwen3 support?"))
    assert [p["text"] for p in fake.posted()] == ["Sorry — the endpoint rejected the key [redacted]."]
    assert "rejected the key [redacted]" in caplog.text and BOT_TOKEN not in caplog.text


def test_unexpected_error_becomes_a_short_reply_and_a_redacted_traceback(fake: FakeSlack,
                                                                        corpus_store: Settings) -> None:
    app = make_app(fake, FailingQA(corpus_store, RuntimeError(f"a bug, near {BOT_TOKEN}")))
    stream = io.StringIO()
    handler = log_handler([BOT_TOKEN], stream)
    logging.getLogger().addHandler(handler)
    try:
        deliver(app, mention("<@UBOT> How many languages does Qwen3 support?"))  # (200: Slack need not retry)
    finally:
        logging.getLogger().removeHandler(handler)
    [post] = fake.posted()
    assert post["thread_ts"] == TS
    assert post["text"] == "Sorry — something went wrong on the bot's side; the details are in its log."
    assert fake.calls_of("reactions.remove")
    logged = stream.getvalue()
    assert "ERROR ui.slack.bot: unexpected RuntimeError while handling event Ev0001" in logged
    assert "Traceback" in logged and "RuntimeError: a bug, near [redacted]" in logged
    assert BOT_TOKEN not in logged


def test_empty_question_is_answered_with_a_short_reply(app: App, fake: FakeSlack) -> None:
    deliver(app, mention("<@UBOT>"))
    assert [p["text"] for p in fake.posted()] == ["Sorry — the question is empty."]


def test_refused_post_gets_an_error_reply(app: App, fake: FakeSlack) -> None:
    fake.fail["chat.postMessage"] = "msg_too_long"
    deliver(app, mention("<@UBOT> How many languages does Qwen3 support?"))
    first, second = fake.posted()
    assert QWEN3_LINK in first["text"]  # the attempt Slack refused
    assert second["thread_ts"] == TS
    assert second["text"] == "Sorry — Slack refused the answer (msg_too_long)."


def test_tokens_never_logged(fake: FakeSlack, engine: QA, caplog: pytest.LogCaptureFixture,
                             capfd: pytest.CaptureFixture[str]) -> None:
    caplog.set_level(logging.DEBUG)
    app = make_app(fake, engine)
    deliver(app, mention("<@UBOT> How many languages does Qwen3 support?"))
    fake.fail["chat.postMessage"] = "invalid_auth"
    fake.fail["reactions.add"] = "invalid_auth"
    deliver(app, mention("<@UBOT> What does CodeElo measure?", ts="1699000000.000900"), event_id="Ev0009")
    raw = json.dumps(envelope(mention("x")))
    app.dispatch(BoltRequest(body=raw, headers={k.lower(): v for k, v in signed_headers(raw, "wrong").items()}))
    assert fake.tokens and set(fake.tokens) == {BOT_TOKEN}  # it was used...
    output = capfd.readouterr()
    logged = caplog.text + "".join(str(r.args) for r in caplog.records) + output.out + output.err
    assert "chat.postMessage" in logged  # (debug logs of the Web API calls were captured)
    assert BOT_TOKEN not in logged and SIGNING_SECRET not in logged  # ...and never logged


# --- HTTP Events mode, over a real socket ---

@pytest.fixture
def http_url(app: App) -> Iterator[str]:
    server = http_server(app, "127.0.0.1", 0, signing_secret=SIGNING_SECRET, max_body=MAX_BODY)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/slack/events"
    server.shutdown()
    server.server_close()


def post(url: str, raw: str, headers: dict[str, str]) -> tuple[int, str]:
    request = urllib.request.Request(url, data=raw.encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


@pytest.mark.parametrize("headers", [
    lambda raw: signed_headers(raw, secret="not-the-secret"),
    lambda raw: signed_headers(raw, age=10 * 60),  # a replayed request
    lambda raw: {**signed_headers(raw), "X-Slack-Signature": "v0=" + "0" * 64},
    lambda raw: {"Content-Type": "application/json"},
], ids=["wrong secret", "stale timestamp", "forged signature", "unsigned"])
def test_http_request_with_bad_signature_is_rejected(http_url: str, fake: FakeSlack, headers: Any) -> None:
    raw = json.dumps(envelope(mention("<@UBOT> How many languages does Qwen3 support?")))
    status, _ = post(http_url, raw, headers(raw))
    assert status == 401
    assert fake.posted() == [] and fake.calls_of("reactions.add") == []


def test_http_signed_event_answered_once_despite_retries(http_url: str, fake: FakeSlack) -> None:
    raw = json.dumps(envelope(mention("<@UBOT> How many languages does Qwen3 support?")))
    assert post(http_url, raw, signed_headers(raw))[0] == 200
    retry = {**signed_headers(raw), "X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    assert post(http_url, raw, retry)[0] == 200
    [answer] = fake.posted()
    assert answer["thread_ts"] == TS and QWEN3_LINK in answer["text"]


def test_http_url_verification_challenge(http_url: str) -> None:
    raw = json.dumps({"token": "t", "challenge": "c-123", "type": "url_verification"})
    status, body = post(http_url, raw, signed_headers(raw))
    assert status == 200 and "c-123" in body


def wait_for(condition: Callable[[], Any], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_run_in_http_mode_acknowledges_first_and_answers_once(fake: FakeSlack, corpus_store: Settings,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              capfd: pytest.CaptureFixture[str]) -> None:
    """`arxiv-qa slack --http` as run: events acknowledged at once, answered in the background."""
    settings = corpus_store.model_copy(update={"slack_bot_token": SecretStr(BOT_TOKEN),
                                               "slack_signing_secret": SecretStr(SIGNING_SECRET)})
    monkeypatch.setattr("ui.slack.bot.connect", partial(connect, base_url=fake.base_url))
    servers: list[Any] = []
    monkeypatch.setattr("ui.slack.bot.http_server", lambda *a: servers.append(http_server(*a)) or servers[0])
    bot = threading.Thread(target=run, args=(settings,), kwargs={"http": True, "port": 0}, daemon=True)
    bot.start()
    wait_for(lambda: servers or not bot.is_alive())
    assert servers, "the bot did not start an HTTP server"
    url = f"http://127.0.0.1:{servers[0].server_address[1]}/slack/events"
    try:
        raw = json.dumps(envelope(mention("<@UBOT> How many languages does Qwen3 support?")))
        assert post(url, raw, {"Content-Type": "application/json"})[0] == 401
        assert post(url, raw, signed_headers(raw)) == (200, "")
        retry = {**signed_headers(raw), "X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
        assert post(url, raw, retry) == (200, "")  # perhaps while the first is still being answered
        wait_for(lambda: fake.calls_of("reactions.remove"))
    finally:
        servers[0].shutdown()
        bot.join(timeout=10)
    [answer] = fake.posted()
    assert answer["thread_ts"] == TS and QWEN3_LINK in answer["text"]
    assert [c.method for c in fake.calls][:1] == ["auth.test"]  # the bot token was checked first
    err = capfd.readouterr().err
    assert "listening for Slack events on http://127.0.0.1:" in err and "answered C1/" in err
    assert BOT_TOKEN not in err and SIGNING_SECRET not in err


# --- forged and malformed signatures (issue 13, item 2) ---

def sign(raw: str, timestamp: str, secret: str = SIGNING_SECRET) -> str:
    """Slack's v0 signature of `raw` under `timestamp`, computed whatever the timestamp looks like."""
    return "v0=" + hmac.new(secret.encode(), f"v0:{timestamp}:{raw}".encode(), hashlib.sha256).hexdigest()


BAD_TIMESTAMPS = ["x", "", "1e3", " {now}", "{now}.5", "-{now}", "0x10", "{now},{now}", "\u00b2\u00b3",
                  "99999999999999999999", "{stale}"]


def malformed_headers() -> list[dict[str, str]]:
    """Each bad timestamp with the right HMAC over it, a random one and none; then bad signatures."""
    raw = json.dumps(envelope(mention("<@UBOT> How many languages does Qwen3 support?")))
    now = int(time.time())
    probes = []
    for template in BAD_TIMESTAMPS:
        ts = template.format(now=now, stale=now - 10 * 60)
        for signature in (sign(raw, ts), "v0=" + secrets.token_hex(32), ""):
            probes.append({"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature})
    good = sign(raw, str(now))
    for signature in ("", "v0=", "v0=zz", good.upper(), good.replace("v0=", "v1="), good + "0", good[:-1], "x"):
        probes.append({"X-Slack-Request-Timestamp": str(now), "X-Slack-Signature": signature})
    probes += [{"X-Slack-Signature": good}, {"X-Slack-Request-Timestamp": str(now)}, {}]
    return probes


def test_malformed_timestamps_and_signatures_are_401_and_never_answered(http_url: str, fake: FakeSlack) -> None:
    raw = json.dumps(envelope(mention("<@UBOT> How many languages does Qwen3 support?")))
    probes = malformed_headers()
    assert len(probes) == 44
    statuses = [post(http_url, raw, {"Content-Type": "application/json", **headers})[0] for headers in probes]
    assert statuses == [401] * len(probes)
    assert fake.posted() == [] and fake.calls_of("reactions.add") == []  # no "Sorry" in the forged thread
    assert post(http_url, raw, signed_headers(raw))[0] == 200  # the real thing still works
    assert len(fake.posted()) == 1


@pytest.mark.parametrize("timestamp", ["x", "", "1e3"])
def test_bolt_error_before_verification_is_401_without_a_reply(app: App, fake: FakeSlack, timestamp: str) -> None:
    # The same request handed to Bolt directly: its verifier's ValueError reaches the error
    # handler, which must not take the forged body's channel as a place to write.
    raw = json.dumps(envelope(mention("<@UBOT> How many languages does Qwen3 support?")))
    headers = {"content-type": "application/json", "x-slack-request-timestamp": timestamp,
               "x-slack-signature": sign(raw, timestamp)}
    response = app.dispatch(BoltRequest(body=raw, headers=headers))
    assert response.status == 401
    assert fake.posted() == [] and fake.calls_of("reactions.add") == []


def raw_request(url: str, head: str, body: bytes = b"", timeout: float = 10) -> tuple[int, float]:
    """Send `head` (and `body`) on a socket; the response status and the seconds it took."""
    host, port = url.split("//")[1].split("/")[0].split(":")
    start = time.perf_counter()
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(head.encode() + b"\r\n" + body)
        status = int(sock.recv(4096).split(b" ")[1])
    return status, time.perf_counter() - start


def test_http_body_over_the_limit_is_refused_before_it_is_read(http_url: str, fake: FakeSlack) -> None:
    now = str(int(time.time()))
    signed = f"X-Slack-Request-Timestamp: {now}\r\nX-Slack-Signature: v0={'0' * 64}\r\n"
    path = "/slack/events"
    for length, expected in [(300_000_000, 413), (MAX_BODY + 1, 413)]:
        head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n{signed}"
        status, took = raw_request(http_url, head)  # announced, never sent
        assert (status, took < 2) == (expected, True)
    unsigned = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 300000000\r\n"
    assert raw_request(http_url, unsigned)[0] == 401  # not even the size is looked at first
    chunked = f"POST {path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n{signed}"
    assert raw_request(http_url, chunked, b"10\r\n" + b"x" * 16 + b"\r\n")[0] == 411
    assert fake.posted() == []


def test_warnings_are_printed_once_and_redacted(capfd: pytest.CaptureFixture[str]) -> None:
    # `arxiv-qa` puts a console handler on the root logger; while the bot runs, its own redacting
    # handler takes that one's place instead of printing beside it.
    console = logging.StreamHandler()
    console.setFormatter(logging.Formatter("arxiv-qa: %(message)s"))
    root = logging.getLogger()
    root.addHandler(console)
    try:
        with _logging([BOT_TOKEN, SIGNING_SECRET]):
            logging.getLogger("slack_bolt.App").warning("a library warning near %s", BOT_TOKEN)
        logging.getLogger("ui.cli").warning("after the bot")
    finally:
        root.removeHandler(console)
    err = capfd.readouterr().err
    assert err.count("a library warning near") == 1 and "a library warning near [redacted]" in err
    assert BOT_TOKEN not in err
    assert "arxiv-qa: after the bot" in err  # the console handler is back
