"""What every request to `arxiv-qa serve` passes before the API or the page sees it.

`BearerFirst` checks the API's bearer token before anything of the request is read; `BodyLimit`
refuses a body over `max_body_bytes` with 413 before reading it (by its Content-Length, or as it
streams in without one); `LoginThrottle` makes a client that keeps failing the page's login wait,
longer after each failure; `NotFoundAsError` turns the page's bare 404 into the API's form. Each
refusal is a JSON {"error": "<one line>"}.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from secrets import compare_digest

from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_PREFIX = "/api/"
OPEN_PATHS = {"/api/healthz"}  # liveness needs no token
GRADIO_PREFIX = "/gradio_api/"
UPLOAD_PATHS = {"/gradio_api/upload", "/gradio_api/upload/"}  # limited by max_upload_mb instead
LOGIN_PATHS = {"/login", "/login/"}
BEARER_ERROR = "missing or wrong bearer token (Authorization: Bearer <token>)"


async def refuse(send: Send, status: int, error: str, headers: dict[str, str] | None = None) -> None:
    """Send {"error": error} with `status` (the connection closes: any unread body is dropped)."""
    body = json.dumps({"error": error}).encode()
    head = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
            (b"connection", b"close")]
    head += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": body})


def header(scope: Scope, name: bytes) -> str | None:
    """The request's header `name` (lower case), or None."""
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def bearer_ok(authorization: str | None, token: str) -> bool:
    """Does `Authorization: Bearer <token>` carry `token`? (Compared in constant time.)"""
    scheme, _, given = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and compare_digest(given.strip().encode(), token.encode())


class BearerFirst:
    """401 for an /api request without the right bearer token, before its body is read."""

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if (scope["type"] == "http" and self.token is not None and path.startswith(API_PREFIX)
                and path not in OPEN_PATHS and not bearer_ok(header(scope, b"authorization"), self.token)):
            await refuse(send, 401, BEARER_ERROR, {"WWW-Authenticate": "Bearer"})
            return
        await self.app(scope, receive, send)


class BodyLimit:
    """413 for a request body over `max_bytes`: by its Content-Length before reading a byte, or, for a
    body sent without one (chunked), as soon as what arrived passes the limit."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in UPLOAD_PATHS:
            await self.app(scope, receive, send)
            return
        length = header(scope, b"content-length")
        if length is not None:
            if not length.strip().isdigit() or int(length) > self.max_bytes:
                await refuse(send, 413, self.too_large)
                return
            await self.app(scope, receive, send)
            return
        if header(scope, b"transfer-encoding") is None:
            await self.app(scope, receive, send)  # no body
            return
        body = await self._read(receive)
        if body is None:
            await refuse(send, 413, self.too_large)
            return
        await self.app(scope, _replay(body, receive), send)

    @property
    def too_large(self) -> str:
        return f"the request body is over {self.max_bytes:,} bytes"

    async def _read(self, receive: Receive) -> bytes | None:
        """A streamed body, read up to the limit: None as soon as it passes it."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return b"".join(chunks)
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


@dataclass
class _Failures:
    count: int = 0
    last: float = 0.0
    until: float = 0.0


class LoginBackoff:
    """Failed logins per client: after `free` of them the client waits `base` s before its next
    attempt, and each further failure doubles the wait (at most `cap`); `window` s without an
    attempt forget them."""

    def __init__(self, free: int = 5, base: float = 1.0, cap: float = 300.0, window: float = 900.0,
                 clock: Callable[[], float] = time.monotonic, size: int = 10_000) -> None:
        self.free, self.base, self.cap, self.window = free, base, cap, window
        self.clock = clock
        self.size = size
        self._clients: dict[str, _Failures] = {}
        self._lock = threading.Lock()

    def wait(self, client: str) -> float:
        """Seconds before `client` may try again (0: now)."""
        with self._lock:
            entry = self._entry(client)
            return max(0.0, entry.until - self.clock()) if entry else 0.0

    def attempt(self, client: str) -> None:
        """An attempt starts: counted as failed until `succeeded` (so parallel guesses count too)."""
        with self._lock:
            now = self.clock()
            entry = self._entry(client) or self._new(client)
            entry.count += 1
            entry.last = now
            if entry.count >= self.free:
                entry.until = now + min(self.cap, self.base * 2.0 ** min(entry.count - self.free, 30))

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._clients.pop(client, None)

    def _entry(self, client: str) -> _Failures | None:
        entry = self._clients.get(client)
        if entry is not None and self.clock() - entry.last > self.window and self.clock() >= entry.until:
            del self._clients[client]
            return None
        return entry

    def _new(self, client: str) -> _Failures:
        if len(self._clients) >= self.size:  # forget the quietest clients first
            for key in sorted(self._clients, key=lambda k: self._clients[k].last)[: self.size // 10]:
                del self._clients[key]
        entry = self._clients[client] = _Failures()
        return entry


class LoginThrottle:
    """The page's login form (POST /login) behind a `LoginBackoff` per client address: 429 with
    Retry-After while a client must wait; a successful login clears its failures."""

    def __init__(self, app: ASGIApp, backoff: LoginBackoff) -> None:
        self.app = app
        self.backoff = backoff

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST" or scope.get("path") not in LOGIN_PATHS:
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("unknown", 0))[0]
        wait = self.backoff.wait(client)
        if wait > 0:
            seconds = math.ceil(wait)
            await refuse(send, 429, f"too many failed logins; try again in {seconds} s",
                         {"Retry-After": str(seconds)})
            return
        self.backoff.attempt(client)

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 200:
                self.backoff.succeeded(client)
            await send(message)

        await self.app(scope, receive, watch)


class NotFoundAsError:
    """An unknown route outside Gradio's own API answers {"error": "no such route: …"} (not {"detail": …})."""

    NOT_FOUND = b'{"detail":"Not Found"}'

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path.startswith(GRADIO_PREFIX):
            await self.app(scope, receive, send)
            return
        held: list[Message] = []

        async def rewrite(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 404:
                held.append(message)
                return
            if held and message["type"] == "http.response.body":
                if message.get("body", b"") == self.NOT_FOUND and not message.get("more_body"):
                    await refuse(send, 404, f"no such route: {path}")
                    return
                await send(held.pop())
            await send(message)

        await self.app(scope, receive, rewrite)
