"""Slack front-end: answers @mentions and direct messages in their thread, with linked citations.

Thin by design: Bolt receives the events (Socket Mode, or the HTTP Events API with its request
signatures verified), `SlackBot` turns each into a question with the thread so far as history,
asks `QA`, and posts what `ui.slack.format` renders. An 👀 reaction marks the question while it
is being answered. Library errors, refused posts and unexpected failures become a one-line
"Sorry — …" in the thread and a log line. Duplicate deliveries (Slack retries) are answered once.
Tokens are never logged: none is ever put in a log line, and the log handler of `run` redacts
every secret value in case a library does.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import re
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from slack_bolt import App, BoltContext, BoltRequest, BoltResponse
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from qa.answer.chat import Message
from qa.answer.engine import QA
from qa.errors import BadInput, QAError
from qa.index.store import Store
from qa.settings import Settings, redact
from ui.slack.format import error_reply, plain_text, render_answer

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
WORKING_REACTION = "eyes"
HISTORY_MESSAGES = 20  # the latest turns of a thread passed as history
HISTORY_PAGES = 5  # conversations.replies pages read at most (200 messages each)
SETUP_HINT = "see README, 'Slack bot: set up in five steps'"
UNEXPECTED = "something went wrong on the bot's side; the details are in its log"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Message subtypes that are still a person writing; the others are edits, joins, bots...
_PERSON_SUBTYPES = {None, "file_share", "thread_broadcast"}
# Slack's request signatures: whole seconds, at most five minutes old; "v0=" and a SHA-256 HMAC in hex.
TIMESTAMP_RE = re.compile(r"[0-9]{1,12}")
SIGNATURE_RE = re.compile(r"v0=[0-9a-f]{64}")
MAX_AGE = 5 * 60
VERIFIED = "arxiv_qa_verified"  # set in the context of a request that passed Bolt's verification


def fresh_timestamp(timestamp: str | None, now: float) -> bool:
    """Is `timestamp` (X-Slack-Request-Timestamp) whole seconds within five minutes of `now`? Never raises."""
    return bool(timestamp and TIMESTAMP_RE.fullmatch(timestamp) and abs(now - int(timestamp)) <= MAX_AGE)


def signed(secret: str, timestamp: str | None, signature: str | None, body: bytes, now: float) -> bool:
    """Is `body` signed with `secret` (Slack's v0 scheme) under a well-formed, fresh timestamp? Never raises."""
    if not secret.strip() or not timestamp or not fresh_timestamp(timestamp, now):
        return False
    if not signature or not SIGNATURE_RE.fullmatch(signature):
        return False
    digest = hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(f"v0={digest}", signature)


class SeenEvents:
    """Deliveries already taken, remembered `ttl` seconds each, at most `size` of them (oldest dropped)."""

    def __init__(self, ttl: float = 600.0, size: int = 10_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.size = size
        self.clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def first_time(self, keys: Iterable[str]) -> bool:
        """Record `keys`; True unless one of them was already seen within the last `ttl` seconds."""
        keys = list(keys)
        with self._lock:
            now = self.clock()
            while self._seen and next(iter(self._seen.values())) <= now - self.ttl:
                self._seen.popitem(last=False)
            new = not any(key in self._seen for key in keys)
            for key in keys:
                self._seen[key] = now
                self._seen.move_to_end(key)
            while len(self._seen) > self.size:
                self._seen.popitem(last=False)
            return new


def delivery_keys(body: dict[str, Any]) -> list[str]:
    """What identifies an event however often it is delivered: its event_id, and its message."""
    event = body.get("event") or {}
    keys = [f"event:{body['event_id']}"] if body.get("event_id") else []
    if event.get("channel") and event.get("ts"):
        keys.append(f"message:{event['channel']}/{event['ts']}")
    return keys


def wants_answer(event: dict[str, Any], bot_user_id: str | None) -> bool:
    """Is `event` a person's question to the bot: a mention, or a direct message (not a bot's, not an edit)?"""
    if event.get("bot_id") or event.get("subtype") not in _PERSON_SUBTYPES:
        return False
    if not event.get("user") or event.get("user") == bot_user_id or not event.get("channel"):
        return False
    return event.get("type") == "app_mention" or event.get("channel_type") == "im"


def thread_history(messages: Iterable[dict[str, Any]], before_ts: str, bot_user_id: str | None,
                   bot_id: str | None) -> list[Message]:
    """The thread's messages older than `before_ts` as turns: the bot's are "assistant", others "user"."""
    history: list[Message] = []
    before = _ts(before_ts)
    for message in messages:
        if _ts(str(message.get("ts", ""))) >= before:
            continue
        own = message.get("user") == bot_user_id or (bot_id is not None and message.get("bot_id") == bot_id)
        content = plain_text(message.get("text") or "", bot_user_id)
        if content:
            history.append({"role": "assistant" if own else "user", "content": content})
    return history[-HISTORY_MESSAGES:]


def _ts(ts: str) -> Decimal:
    # Slack timestamps are decimal strings with microseconds: too precise for a float.
    try:
        return Decimal(ts)
    except InvalidOperation:
        return Decimal("Infinity")


def _slack_error(error: SlackApiError | OSError) -> str:
    """The short reason of a failed call: Slack's error code (never the request, which holds the token)."""
    if isinstance(error, SlackApiError):
        return str(error.response.get("error") or "unknown_error")
    return str(getattr(error, "reason", None) or error.strerror or type(error).__name__)


class SlackBot:
    """Answers the questions Bolt hands it, in their thread."""

    def __init__(self, qa: QA, seen: SeenEvents | None = None, secrets: Sequence[str] = ()) -> None:
        self.qa = qa
        self.seen = seen or SeenEvents()
        self.secrets = [*qa.settings.secret_values(), *secrets]
        self._answering = threading.Semaphore(qa.settings.concurrency_limit)

    def register(self, app: App) -> None:
        """Listen to mentions and direct messages, skipping deliveries already taken."""
        app.middleware(self.mark_verified)
        app.middleware(self.skip_duplicates)
        app.event("app_mention")(self.on_event)
        app.event("message")(self.on_event)
        app.error(self.on_error)

    @staticmethod
    def mark_verified(context: BoltContext, next_: Callable[[], None]) -> None:
        """Reached only after Bolt's own middleware verified the request (or it came over Socket Mode)."""
        context[VERIFIED] = True
        next_()

    def skip_duplicates(self, body: dict[str, Any], request: BoltRequest,
                        next_: Callable[[], None]) -> BoltResponse | None:
        """Acknowledge a repeated delivery without answering it again.

        Slack re-sends an event (X-Slack-Retry-Num: 1, 2, 3) when it got no acknowledgement in time;
        the event may still be being answered, so it is recognised by its IDs, not by that header:
        a retry of an event this process never took (it was down) is answered.
        """
        if body.get("type") != "event_callback" or self.seen.first_time(delivery_keys(body)):
            next_()
            return None
        retry = request.headers.get("x-slack-retry-num", [""])[0]
        log.info("duplicate delivery of %s ignored%s", body.get("event_id"), f" (retry {retry})" if retry else "")
        return BoltResponse(status=200, body="")

    def on_event(self, event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        """Answer a mention or a direct message in its thread; errors become a short reply there."""
        if not wants_answer(event, context.bot_user_id):
            return
        channel, ts = str(event["channel"]), str(event["ts"])
        thread_ts = str(event.get("thread_ts") or ts)
        with self._working(client, channel, ts):
            try:
                self._answer(client, context, event, thread_ts)
            except (QAError, SlackApiError) as e:
                self._apologise(client, channel, thread_ts, e)

    def _answer(self, client: WebClient, context: BoltContext, event: dict[str, Any], thread_ts: str) -> None:
        start = time.perf_counter()
        channel, ts = str(event["channel"]), str(event["ts"])
        question = plain_text(event.get("text") or "", context.bot_user_id)
        history = self._history(client, context, channel, thread_ts, ts) if thread_ts != ts else []
        with self._answering:
            answer = self.qa.ask(question, history)
        messages = render_answer(answer)
        for message in messages:
            client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=message.text, blocks=message.blocks,
                                    unfurl_links=False, unfurl_media=False)
        log.info("answered %s/%s in %.1fs: %d message(s), %d citation(s)%s", channel, ts, time.perf_counter() - start,
                 len(messages), len(answer.citations), " (refused)" if answer.refused else "")

    def _history(self, client: WebClient, context: BoltContext, channel: str, thread_ts: str,
                 ts: str) -> list[Message]:
        """The thread before the question; without it (unreadable thread) the question is answered alone."""
        messages: list[dict[str, Any]] = []
        cursor: str | None = None
        try:
            for _ in range(HISTORY_PAGES):
                page = client.conversations_replies(channel=channel, ts=thread_ts, cursor=cursor, limit=200)
                messages += page.get("messages") or []
                cursor = (page.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    break
        except SlackApiError as e:
            log.warning("thread %s/%s unreadable (%s): answering without its history", channel, thread_ts,
                        _slack_error(e))
        return thread_history(messages, ts, context.bot_user_id, context.bot_id)

    def on_error(self, error: Exception, body: dict[str, Any], client: WebClient, context: BoltContext,
                 response: BoltResponse | None) -> BoltResponse | None:
        """Bolt's handler of what the listeners did not expect (a bug): logged with its traceback,
        and a short reply in the thread when the event was a question.

        A request that failed before its signature was verified (a malformed timestamp, say) gets
        401 and no reply: its body says nothing trustworthy about where to write.
        """
        if not context.get(VERIFIED):
            log.warning("request refused before verification: %s", type(error).__name__)
            return BoltResponse(status=401, body=json.dumps({"error": "invalid request"}))
        event = body.get("event") or {}
        log.error("unexpected %s while handling event %s", type(error).__name__, body.get("event_id"),
                  exc_info=error)
        if not wants_answer(event, context.bot_user_id):
            return None
        channel, thread_ts = str(event["channel"]), str(event.get("thread_ts") or event["ts"])
        self._reply(client, channel, thread_ts, UNEXPECTED)
        # Handled: a 500 would only make Slack deliver the event again.
        return BoltResponse(status=200, body="") if response is not None else None

    def _apologise(self, client: WebClient, channel: str, thread_ts: str, error: QAError | SlackApiError) -> None:
        if isinstance(error, SlackApiError):
            reason = f"Slack refused the answer ({_slack_error(error)})"
        else:
            reason = redact(str(error), self.secrets) or type(error).__name__
        log.warning("question in %s/%s not answered: %s: %s", channel, thread_ts, type(error).__name__, reason)
        self._reply(client, channel, thread_ts, reason)

    def _reply(self, client: WebClient, channel: str, thread_ts: str, reason: str) -> None:
        try:
            client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=error_reply(reason).text)
        except (SlackApiError, OSError) as e:
            log.error("could not reply in %s/%s either: %s", channel, thread_ts, _slack_error(e))

    @contextmanager
    def _working(self, client: WebClient, channel: str, ts: str) -> Iterator[None]:
        """👀 on the question while it is answered; a reaction that fails is only logged."""
        _react(client.reactions_add, channel, ts)
        try:
            yield
        finally:
            _react(client.reactions_remove, channel, ts)


def _react(call: Callable[..., Any], channel: str, ts: str) -> None:
    try:
        call(channel=channel, timestamp=ts, name=WORKING_REACTION)
    except (SlackApiError, OSError) as e:
        log.info("reaction %s on %s/%s failed: %s", WORKING_REACTION, channel, ts, _slack_error(e))


def build_app(qa: QA, client: WebClient, signing_secret: str = "", *, process_before_response: bool = False,
              seen: SeenEvents | None = None) -> App:
    """A Bolt app answering with `qa` through `client` (which carries the bot token).

    `signing_secret` verifies HTTP requests (Socket Mode needs none). `process_before_response`
    answers before acknowledging: for tests, and platforms that stop work after the response.
    """
    app = App(client=client, signing_secret=signing_secret, token_verification_enabled=False,
              process_before_response=process_before_response, name="arxiv-qa")
    SlackBot(qa, seen, secrets=[client.token or "", signing_secret]).register(app)
    return app


class RedactSecrets(logging.Filter):
    """A handler filter redacting secret values from each record's message and traceback."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = list(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True  # a malformed record: the handler reports it
        record.msg, record.args = redact(message, self.secrets), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        return True


def log_handler(secrets: Iterable[str], stream: Any = None) -> logging.Handler:
    """The bot's log output (stderr unless `stream`): a line per record (and its traceback), secrets redacted."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.addFilter(RedactSecrets(secrets))
    return handler


def _is_console(handler: logging.Handler) -> bool:
    streams = (sys.stderr, sys.stdout, sys.__stderr__, sys.__stdout__)
    return isinstance(handler, logging.StreamHandler) and any(handler.stream is s for s in streams)


@contextmanager
def _logging(secrets: Iterable[str]) -> Iterator[None]:
    """The bot's log output on stderr in place of any console handler already there (the command
    line's), so each line is printed once, redacted; other handlers (a log file) get redacted lines."""
    root, handler, redacting = logging.getLogger(), log_handler(secrets), RedactSecrets(secrets)
    level, before = root.level, root.handlers[:]
    for old in before:
        if _is_console(old):
            root.removeHandler(old)
        else:
            old.addFilter(redacting)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield
    finally:
        root.removeHandler(handler)
        for old in before:
            old.removeFilter(redacting)
            if old not in root.handlers:
                root.addHandler(old)
        root.setLevel(level)


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _LoggingHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)


class SlackEndpoint:
    """The WSGI app of HTTP mode: a request reaches Bolt only with a well-formed, fresh timestamp and
    signature header (401), a Content-Length (411) of at most `max_body` bytes (413, before reading
    it), and a signature that matches the body (401)."""

    def __init__(self, app: App, signing_secret: str, max_body: int,
                 clock: Callable[[], float] = time.time) -> None:
        self.bolt = SlackRequestHandler(app, EVENTS_PATH)
        self.secret = signing_secret
        self.max_body = max_body
        self.clock = clock

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != EVENTS_PATH or environ.get("REQUEST_METHOD") != "POST":
            return _refuse(start_response, 404, f"not found: Slack events go to POST {EVENTS_PATH}")
        timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP")
        signature = environ.get("HTTP_X_SLACK_SIGNATURE")
        if not fresh_timestamp(timestamp, self.clock()) or not SIGNATURE_RE.fullmatch(signature or ""):
            return _refuse(start_response, 401, "invalid request")
        length = str(environ.get("CONTENT_LENGTH") or "")
        if not length.isdigit():
            return _refuse(start_response, 411, "a Content-Length is required")
        if int(length) > self.max_body:
            return _refuse(start_response, 413, f"the request body is over {self.max_body:,} bytes")
        body = environ["wsgi.input"].read(int(length))
        if not signed(self.secret, timestamp, signature, body, self.clock()):
            return _refuse(start_response, 401, "invalid request")
        try:
            body.decode()
        except UnicodeDecodeError:
            return _refuse(start_response, 400, "the request body is not UTF-8")
        return self.bolt({**environ, "wsgi.input": io.BytesIO(body)}, start_response)


def _refuse(start_response: StartResponse, status: int, error: str) -> list[bytes]:
    body = json.dumps({"error": error}).encode()
    reasons = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 411: "Length Required",
               413: "Content Too Large"}
    start_response(f"{status} {reasons[status]}", [("Content-Type", "application/json"),
                                                   ("Content-Length", str(len(body)))])
    return [body]


def http_server(app: App, host: str = "127.0.0.1", port: int = 3000, signing_secret: str = "",
                max_body: int = 1_000_000) -> WSGIServer:
    """An HTTP server for Slack's Events API at ``http://HOST:PORT/slack/events`` (not yet serving)."""
    endpoint = SlackEndpoint(app, signing_secret, max_body)
    try:
        return make_server(host, port, endpoint, server_class=_ThreadingWSGIServer, handler_class=_LoggingHandler)
    except OSError as e:
        raise QAError(f"cannot listen on {host}:{port} ({e.strerror or e})") from None


def serve_socket_mode(app: App, app_token: str) -> None:
    """Connect to Slack over Socket Mode and answer until interrupted."""
    handler = SocketModeHandler(app, app_token=app_token)
    try:
        handler.start()  # type: ignore[no-untyped-call]  # (slack_bolt leaves it unannotated)
    except SlackApiError as e:
        raise QAError(f"Slack refused the Socket Mode connection ({_slack_error(e)}): check SLACK_APP_TOKEN") from None
    finally:
        handler.close()  # type: ignore[no-untyped-call]


@dataclass(frozen=True)
class SlackTokens:
    """The secrets of one mode ("" where the mode needs none)."""

    bot: str
    app: str
    signing_secret: str


def slack_tokens(settings: Settings, http: bool) -> SlackTokens:
    """The tokens `http` or Socket Mode needs; BadInput naming the missing variables (never a value)."""
    mode = "HTTP mode" if http else "Socket Mode"
    needed = {"SLACK_BOT_TOKEN": "slack_bot_token"}
    if http:
        needed["SLACK_SIGNING_SECRET"] = "slack_signing_secret"
    else:
        needed["SLACK_APP_TOKEN"] = "slack_app_token"
    values = {name: (settings.secret(field) or "").strip() for name, field in needed.items()}
    missing = [name for name, value in values.items() if not value]
    if missing:
        verb, them = ("is", "it") if len(missing) == 1 else ("are", "them")
        raise BadInput(f"{' and '.join(missing)} {verb} not set ({mode} needs {them}; {SETUP_HINT})")
    if not http and not values["SLACK_APP_TOKEN"].startswith("xapp-"):
        raise BadInput(f"SLACK_APP_TOKEN is not an app-level token (xapp-...); {SETUP_HINT}")
    return SlackTokens(values["SLACK_BOT_TOKEN"], values.get("SLACK_APP_TOKEN", ""),
                       values.get("SLACK_SIGNING_SECRET", ""))


def connect(token: str, base_url: str = WebClient.BASE_URL) -> WebClient:
    """A Web API client for the bot token, checked with auth.test."""
    client = WebClient(token=token, base_url=base_url)
    try:
        identity = client.auth_test()
    except SlackApiError as e:
        raise QAError(f"Slack rejected SLACK_BOT_TOKEN ({_slack_error(e)})") from None
    except OSError as e:
        raise QAError(f"cannot reach Slack ({_slack_error(e)})") from None
    log.info("signed in to Slack as %s (%s)", identity.get("user"), identity.get("user_id"))
    return client


def run(settings: Settings, http: bool = False, host: str = "127.0.0.1", port: int = 3000) -> None:
    """Run the bot until interrupted: Socket Mode, or HTTP Events at ``http://HOST:PORT/slack/events``."""
    tokens = slack_tokens(settings, http)
    store = Store(settings)
    if store.is_empty():
        raise BadInput(f"the store {store.root} is empty: run `arxiv-qa ingest` first")
    with _logging(settings.secret_values()):
        client = connect(tokens.bot)
        engine = QA(settings, store)
        log.info("loading the models")
        _ = engine.warm
        app = build_app(engine, client, tokens.signing_secret)
        if http:
            serve_http(http_server(app, host, port, tokens.signing_secret, settings.max_body_bytes))
        else:
            log.info("connecting over Socket Mode")
            serve_socket_mode(app, tokens.app)


def serve_http(server: WSGIServer) -> None:
    """Answer Slack's Events API on `server` until interrupted."""
    host, port = server.server_address[:2]
    log.info("listening for Slack events on http://%s:%d%s", host, port, EVENTS_PATH)
    try:
        server.serve_forever()
    finally:
        server.server_close()
