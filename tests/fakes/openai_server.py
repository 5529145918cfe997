"""Fake OpenAI API: a real HTTP server on 127.0.0.1 speaking the chat-completions wire format.

Usage::

    with FakeOpenAI() as srv:
        srv.script = [Status(429), Reply("Hello there")]
        client = openai.OpenAI(base_url=srv.base_url, api_key="sk-test", max_retries=0)

Each ``POST /v1/chat/completions`` consumes one behaviour from ``srv.script`` (first
in, first out); once the script is empty, ``srv.default`` answers.  ``GET /v1/models``
lists one model.  Every request (any path) is recorded in ``srv.requests``.

A behaviour is any object with ``serve(exchange)`` (``Reply``, ``Status``, ``Delay``,
``BrokenStream``, ``Malformed``) or a plain callable taking the ``Exchange``.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, Protocol
from urllib.parse import urlsplit

from tests.fakes._http import LoopbackHTTPServer

MODEL = "gpt-4o-mini"
CHAT_PATH = "/v1/chat/completions"
MODELS_PATH = "/v1/models"

_ERRORS: dict[int, tuple[str, str, str | None]] = {
    400: ("Bad request.", "invalid_request_error", None),
    401: ("Incorrect API key provided", "invalid_request_error", "invalid_api_key"),
    403: ("You are not allowed to sample from this model.", "invalid_request_error", None),
    404: ("The model does not exist.", "invalid_request_error", "model_not_found"),
    429: ("Rate limit reached for requests.", "requests", "rate_limit_exceeded"),
    500: ("The server had an error while processing your request.", "server_error", None),
    503: ("The engine is currently overloaded.", "server_error", None),
}


def error_body(code: int, message: str | None = None) -> dict[str, Any]:
    """Return an OpenAI-shaped error body (``{"error": {...}}``) for an HTTP status."""
    default, kind, err_code = _ERRORS.get(code, (f"HTTP {code}", "server_error", None))
    return {"error": {"message": message or default, "type": kind, "param": None, "code": err_code}}


INVALID_API_KEY_ERROR: dict[str, Any] = error_body(401)
_SSE_HEADERS = {"Content-Type": "text/event-stream; charset=utf-8", "Transfer-Encoding": "chunked"}


def split_text(text: str) -> list[str]:
    """Split text into word-sized stream pieces whose concatenation is ``text``."""
    return re.findall(r"\s*\S+|\s+$", text)


@dataclass
class RecordedRequest:
    """One HTTP request as the fake received it (header names are lower-cased)."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    raw: bytes = b""

    @property
    def stream(self) -> bool:
        """Whether the JSON body asked for ``"stream": true``."""
        return isinstance(self.body, dict) and self.body.get("stream") is True

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The chat ``messages`` of the body, or ``[]``."""
        return self.body.get("messages", []) if isinstance(self.body, dict) else []


class Exchange:
    """A request being answered: the request plus helpers that write the response."""

    def __init__(self, handler: _Handler, request: RecordedRequest, fake: FakeOpenAI) -> None:
        self.handler = handler
        self.request = request
        self.fake = fake

    def send_head(self, status: int, headers: dict[str, str]) -> None:
        """Write the status line and headers."""
        self.handler.send_response(status)
        self.handler.send_header("x-request-id", f"req_{uuid.uuid4().hex}")
        for name, value in headers.items():
            self.handler.send_header(name, value)
        self.handler.end_headers()

    def write(self, data: bytes) -> None:
        """Write raw bytes to the socket."""
        self.handler.wfile.write(data)
        self.handler.wfile.flush()

    def send_bytes(
        self, status: int, body: bytes, content_type: str = "application/json", headers: dict[str, str] | None = None
    ) -> None:
        """Send a complete response with a Content-Length."""
        head = {"Content-Type": content_type, "Content-Length": str(len(body))}
        self.send_head(status, {**head, **(headers or {})})
        self.write(body)

    def send_json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        """Send ``obj`` as a JSON response."""
        self.send_bytes(status, json.dumps(obj).encode(), headers=headers)

    def start_sse(self) -> None:
        """Start a chunked ``text/event-stream`` response."""
        self.send_head(200, _SSE_HEADERS)

    def send_chunk(self, data: bytes) -> None:
        """Write one HTTP/1.1 chunk."""
        self.write(b"%x\r\n%s\r\n" % (len(data), data))

    def send_event(self, payload: Any) -> None:
        """Write one SSE ``data:`` event (strings are sent verbatim, others as JSON)."""
        data = payload if isinstance(payload, str) else json.dumps(payload)
        self.send_chunk(f"data: {data}\n\n".encode())

    def end_sse(self) -> None:
        """Send ``data: [DONE]`` and terminate the chunked body."""
        self.send_event("[DONE]")
        self.write(b"0\r\n\r\n")

    def abort(self) -> None:
        """Close the connection abruptly, mid-response."""
        self.handler.close_connection = True
        _hard_close(self.handler.connection)

    def wait(self, seconds: float) -> bool:
        """Sleep; return False early if the server is shutting down."""
        return not self.fake._stopping.wait(seconds)


class _Serves(Protocol):
    def serve(self, ex: Exchange) -> None: ...


Behaviour = _Serves | Callable[[Exchange], None]


def _model_of(request: RecordedRequest, fallback: str) -> str:
    body = request.body if isinstance(request.body, dict) else {}
    return str(body.get("model") or fallback)


def _usage(request: RecordedRequest, text: str) -> dict[str, int]:
    prompt = sum(len(str(m.get("content") or "").split()) for m in request.messages)
    completion = len(split_text(text))
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def completion_json(ex: Exchange, text: str, finish_reason: str = "stop") -> dict[str, Any]:
    """Build a ``chat.completion`` object answering the exchange's request."""
    message = {"role": "assistant", "content": text, "refusal": None}
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": _model_of(ex.request, ex.fake.model),
        "system_fingerprint": "fp_fake",
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}],
        "usage": _usage(ex.request, text),
    }


def _chunk_base(ex: Exchange) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": _model_of(ex.request, ex.fake.model),
        "system_fingerprint": "fp_fake",
    }


def _chunk(base: dict[str, Any], delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
    return {**base, "choices": [choice]}


def _stream_pieces(ex: Exchange, text: str) -> dict[str, Any]:
    """Start an SSE response and send the role chunk plus one chunk per piece of text."""
    base = _chunk_base(ex)
    ex.start_sse()
    ex.send_event(_chunk(base, {"role": "assistant", "content": "", "refusal": None}))
    for piece in split_text(text):
        ex.send_event(_chunk(base, {"content": piece}))
    return base


def _wants_usage(request: RecordedRequest) -> bool:
    options = request.body.get("stream_options") if isinstance(request.body, dict) else None
    return isinstance(options, dict) and bool(options.get("include_usage"))


@dataclass
class Reply:
    """Answer with ``text``: SSE if ``stream`` (None = follow the request), else JSON."""

    text: str = "Hello from FakeOpenAI."
    stream: bool | None = None
    finish_reason: str = "stop"

    def serve(self, ex: Exchange) -> None:
        streaming = ex.request.stream if self.stream is None else self.stream
        if not streaming:
            ex.send_json(200, completion_json(ex, self.text, self.finish_reason))
            return
        base = _stream_pieces(ex, self.text)
        ex.send_event(_chunk(base, {}, self.finish_reason))
        if _wants_usage(ex.request):
            ex.send_event({**base, "choices": [], "usage": _usage(ex.request, self.text)})
        ex.end_sse()


_FAST_RETRY = {"Retry-After": "0", "retry-after-ms": "1"}


def _retryable(code: int) -> bool:
    return code in (408, 409, 429) or code >= 500


@dataclass
class Status:
    """Answer with HTTP ``code``; ``body`` defaults to an OpenAI-shaped error.

    A dict/list body is sent as JSON, a str/bytes body verbatim as text.  Statuses
    the openai client retries (408, 409, 429, 5xx) get ``Retry-After: 0`` and
    ``retry-after-ms: 1`` so client retries are near-instant; ``headers`` override.
    """

    code: int
    body: Any = None
    headers: dict[str, str] | None = None

    def serve(self, ex: Exchange) -> None:
        body = error_body(self.code) if self.body is None else self.body
        headers = dict(_FAST_RETRY) if _retryable(self.code) else {}
        headers.update(self.headers or {})
        if isinstance(body, (str, bytes)):
            raw = body.encode() if isinstance(body, str) else body
            ex.send_bytes(self.code, raw, "text/plain; charset=utf-8", headers)
        else:
            ex.send_json(self.code, body, headers)


@dataclass
class Delay:
    """Sleep ``seconds`` (cut short at shutdown), then behave like ``then``."""

    seconds: float
    then: Behaviour = field(default_factory=Reply)

    def serve(self, ex: Exchange) -> None:
        if ex.wait(self.seconds):
            serve(self.then, ex)
        else:
            ex.abort()


@dataclass
class BrokenStream:
    """Start a response, send part of it, then drop the connection mid-chunk.

    Streaming requests get the role chunk and ``partial_text`` chunks, then an
    incomplete chunk and no ``[DONE]``; non-streaming requests get half a JSON
    body shorter than its Content-Length.
    """

    partial_text: str = "This answer is cut"

    def serve(self, ex: Exchange) -> None:
        if not ex.request.stream:
            body = json.dumps(completion_json(ex, self.partial_text)).encode()
            head = {"Content-Type": "application/json", "Content-Length": str(len(body))}
            ex.send_head(200, head)
            ex.write(body[: len(body) // 2])
        else:
            base = _stream_pieces(ex, self.partial_text)
            ex.write(b'1000\r\ndata: {"id": "%s", "choi' % base["id"].encode())
        ex.abort()


@dataclass
class Malformed:
    """Answer 200 with ``body`` that is not valid JSON (as the SSE event when streaming)."""

    body: str = '{"id": "chatcmpl-broken", "choices": [{"mess'

    def serve(self, ex: Exchange) -> None:
        if ex.request.stream:
            ex.start_sse()
            ex.send_event(self.body)
            ex.end_sse()
        else:
            ex.send_bytes(200, self.body.encode())


def serve(behaviour: Behaviour, ex: Exchange) -> None:
    """Run a behaviour object or plain callable against an exchange."""
    method = getattr(behaviour, "serve", None)
    if callable(method):
        method(ex)
    else:
        behaviour(ex)  # type: ignore[operator]


def _hard_close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def _parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.fake._track(self.connection, add=True)

    def finish(self) -> None:
        self.server.fake._track(self.connection, add=False)
        super().finish()

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def _read(self) -> RecordedRequest:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        path = urlsplit(self.path).path
        return RecordedRequest(self.command, path, headers, _parse_json(raw), raw)

    def _dispatch(self) -> None:
        request = self._read()
        fake = self.server.fake
        fake._record(request)
        fake._route(Exchange(self, request, fake))


class _Server(LoopbackHTTPServer):
    def __init__(self, fake: FakeOpenAI) -> None:
        super().__init__(_Handler)
        self.fake = fake


class FakeOpenAI:
    """A local OpenAI-compatible server; use as ``with FakeOpenAI() as srv:``."""

    def __init__(
        self,
        script: Iterable[Behaviour] = (),
        *,
        default: Behaviour | None = None,
        require_key: str | None = None,
        model: str = MODEL,
    ) -> None:
        self.script: list[Behaviour] = list(script)
        self.default: Behaviour = default if default is not None else Reply()
        self.require_key = require_key
        self.model = model
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._conns: set[socket.socket] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The TCP port the server listens on."""
        if self._server is None:
            raise RuntimeError("FakeOpenAI is not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Server root, e.g. ``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """OpenAI base URL, e.g. ``http://127.0.0.1:PORT/v1``."""
        return f"{self.url}/v1"

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        """Recorded ``POST /v1/chat/completions`` requests."""
        return [r for r in self.requests if r.path == CHAT_PATH]

    def add(self, *behaviours: Behaviour) -> None:
        """Append behaviours to the script."""
        with self._lock:
            self.script.extend(behaviours)

    def start(self) -> FakeOpenAI:
        """Bind a free port and serve in a daemon thread."""
        self._stopping.clear()
        self._server = _Server(self)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake sleeping Delays and close open connections."""
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            _hard_close(conn)
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=2)

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._conns.add(conn)
            else:
                self._conns.discard(conn)

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _next(self) -> Behaviour:
        with self._lock:
            return self.script.pop(0) if self.script else self.default

    def _authorized(self, request: RecordedRequest) -> bool:
        if self.require_key is None:
            return True
        return request.headers.get("authorization") == f"Bearer {self.require_key}"

    def _models(self) -> dict[str, Any]:
        model = {"id": self.model, "object": "model", "created": 1700000000, "owned_by": "system"}
        return {"object": "list", "data": [model]}

    def _route(self, ex: Exchange) -> None:
        req = ex.request
        if not self._authorized(req):
            ex.send_json(401, INVALID_API_KEY_ERROR)
        elif (req.method, req.path) == ("GET", MODELS_PATH):
            ex.send_json(200, self._models())
        elif (req.method, req.path) == ("POST", CHAT_PATH):
            serve(self._next(), ex)
        else:
            message = f"Invalid URL ({req.method} {req.path})"
            ex.send_json(404, {"error": {**error_body(404, message)["error"], "code": None}})
