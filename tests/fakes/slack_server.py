"""Fake Slack Web API: a real HTTP server on 127.0.0.1 answering ``/api/<method>``.

Usage::

    with FakeSlack() as srv:
        client = slack_sdk.WebClient(token="xoxb-test", base_url=srv.base_url)
        client.chat_postMessage(channel="C1", text="hi", thread_ts="1.2")
        assert srv.posted()[0]["thread_ts"] == "1.2"

Parameters may come in the query string, a form-encoded body or a JSON body
(slack_sdk uses all three); they are merged into one dict per call.  The token is
taken from ``Authorization: Bearer ...`` or, failing that, the ``token`` field
(which is removed from the recorded params).
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, urlsplit

from tests.fakes._http import LoopbackHTTPServer

BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
TEAM_ID = "T1"
BOT_NAME = "arxiv-qa"

Params = dict[str, Any]
Response = dict[str, Any] | Callable[[Params], dict[str, Any]]


class Call(NamedTuple):
    """One Web API call: ``method`` (e.g. "chat.postMessage") and its params."""

    method: str
    params: Params


def _form(raw: str) -> Params:
    return dict(parse_qsl(raw, keep_blank_values=True))


def _body_params(raw: bytes, content_type: str) -> Params:
    if not raw:
        return {}
    if "json" in content_type:
        try:
            data = json.loads(raw)
        except ValueError:
            return {"_raw": raw}
        return data if isinstance(data, dict) else {"_json": data}
    if "x-www-form-urlencoded" in content_type:
        return _form(raw.decode())
    return {"_raw": raw}


def _bearer(authorization: str | None) -> str | None:
    if authorization and authorization.startswith("Bearer "):
        return authorization[len("Bearer ") :]
    return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def _params(self) -> Params:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        params = _form(urlsplit(self.path).query)
        params.update(_body_params(raw, self.headers.get("Content-Type") or ""))
        return params

    def _dispatch(self) -> None:
        path = urlsplit(self.path).path
        params = self._params()
        if not path.startswith("/api/"):
            self._send(404, {"ok": False, "error": "unknown_method"})
            return
        token = _bearer(self.headers.get("Authorization"))
        token = token or params.pop("token", None)
        self._send(200, self.server.fake._handle(path[len("/api/") :], params, token))

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _Server(LoopbackHTTPServer):
    def __init__(self, fake: FakeSlack) -> None:
        super().__init__(_Handler)
        self.fake = fake


class FakeSlack:
    """A local Slack Web API; use as ``with FakeSlack() as srv:``."""

    def __init__(self, *, require_token: str | None = None) -> None:
        self.require_token = require_token
        self.calls: list[Call] = []
        self.tokens: list[str | None] = []
        self.threads: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.fail: dict[str, str] = {}
        self.responses: dict[str, Response] = {
            "apps.connections.open": {"ok": False, "error": "not_allowed"},
        }
        self._ts = itertools.count(1)
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The TCP port the server listens on."""
        if self._server is None:
            raise RuntimeError("FakeSlack is not started")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """Slack base URL, e.g. ``http://127.0.0.1:PORT/api/``."""
        return f"http://127.0.0.1:{self.port}/api/"

    def calls_of(self, method: str) -> list[Params]:
        """Params of every recorded call to ``method``, in order."""
        return [call.params for call in self.calls if call.method == method]

    def posted(self) -> list[Params]:
        """Params of every recorded ``chat.postMessage`` call."""
        return self.calls_of("chat.postMessage")

    def start(self) -> FakeSlack:
        """Bind a free port and serve in a daemon thread."""
        self._server = _Server(self)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=2)

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _handle(self, method: str, params: Params, token: str | None) -> dict[str, Any]:
        with self._lock:
            self.calls.append(Call(method, params))
            self.tokens.append(token)
            return self._answer(method, params, token)

    def _answer(self, method: str, params: Params, token: str | None) -> dict[str, Any]:
        if self.require_token is not None and token != self.require_token:
            return {"ok": False, "error": "invalid_auth" if token else "not_authed"}
        if method in self.fail:
            return {"ok": False, "error": self.fail.pop(method)}
        if method in self.responses:
            response = self.responses[method]
            return response(params) if callable(response) else response
        builtin = self._builtins().get(method)
        return builtin(params) if builtin else {"ok": True}

    def _builtins(self) -> dict[str, Callable[[Params], dict[str, Any]]]:
        return {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "conversations.replies": self._replies,
        }

    def _auth_test(self, params: Params) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://arxiv-qa.slack.com/",
            "team": "arxiv-qa",
            "user": BOT_NAME,
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
        }

    def _post_message(self, params: Params) -> dict[str, Any]:
        ts = f"1700000000.{next(self._ts) * 100:06d}"
        message = {"type": "message", "user": BOT_USER_ID, "bot_id": BOT_ID, "ts": ts}
        message.update({k: params[k] for k in ("text", "thread_ts", "blocks") if k in params})
        return {"ok": True, "channel": params.get("channel"), "ts": ts, "message": message}

    def _update(self, params: Params) -> dict[str, Any]:
        keys = ("channel", "ts", "text")
        return {"ok": True, **{k: params.get(k) for k in keys}}

    def _replies(self, params: Params) -> dict[str, Any]:
        key = (str(params.get("channel")), str(params.get("ts")))
        return {"ok": True, "messages": list(self.threads.get(key, [])), "has_more": False}
