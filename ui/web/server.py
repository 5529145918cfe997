"""Serving the chat page and the HTTP API on one port, safe by default.

The FastAPI app carries the /api routes and its OpenAPI docs (/docs); the Gradio page is mounted
at "/". Only a loopback address is served without authentication: any other needs ARXIV_QA_AUTH
(the page's login) and ARXIV_QA_API_TOKEN (the API's bearer token), or an explicit --insecure.
Every request passes `ui.web.guard` first: the bearer token before the body, the body size limit, the
login backoff.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
from importlib.metadata import version
from pathlib import Path
from typing import TextIO

import gradio as gr
import uvicorn
from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from qa.answer.engine import QA
from qa.errors import BadInput, QAError
from qa.index.writer import Writer
from qa.ingest import bundled_corpus, ingest
from qa.settings import Settings
from ui.web.api import api_router, install_error_handlers
from ui.web.app import ChatApp, build
from ui.web.guard import BearerFirst, BodyLimit, LoginBackoff, LoginThrottle, NotFoundAsError
from ui.web.theme import CSS, SCRIPT, theme
from ui.web.uploads import MB
from ui.web.workers import Workers

GRACE_SECONDS = 3
FAVICON = Path(__file__).with_name("favicon.png")  # the page's and the API docs' tab icon
DOCS_ASSETS = "/docs-assets"  # Swagger UI's script and style, served from the installed package


def is_loopback(host: str) -> bool:
    """Is `host` an address only this machine can reach? (`localhost`, 127.0.0.0/8, ::1)"""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_exposure(settings: Settings, insecure: bool) -> None:
    """BadInput when a non-loopback address would be served without authentication (and no --insecure)."""
    if insecure or is_loopback(settings.host):
        return
    missing = [what for what, name in [("ARXIV_QA_AUTH=user:password (the page's login)", "auth"),
                                       ("ARXIV_QA_API_TOKEN (the HTTP API's bearer token)", "api_token")]
               if settings.secret(name) is None]
    if missing:
        raise BadInput(f"refusing to serve {settings.host} without authentication: set {' and '.join(missing)}, "
                       "or pass --insecure")


def page_auth(settings: Settings) -> tuple[str, str] | None:
    """The page's login (user, password) from ARXIV_QA_AUTH, or None."""
    auth = settings.secret("auth")
    if auth is None:
        return None
    user, sep, password = auth.partition(":")
    if not sep or not user or not password:
        raise BadInput("ARXIV_QA_AUTH must be user:password")
    return user, password


def fill_if_empty(store: Writer, out: TextIO = sys.stderr) -> None:
    """Ingest the bundled sample corpus into an empty store, with a progress line on `out` (a terminal)."""
    if not store.is_empty():
        return
    done = 0
    live = out.isatty()  # a log file gets the start and the end, not a line rewritten in place
    out.write("arxiv-qa: the store is empty; ingesting the bundled corpus" + ("" if live else "\n"))
    out.flush()

    def progress(n: int) -> None:
        nonlocal done
        done += n
        if live:
            out.write(f"\rarxiv-qa: the store is empty; ingesting the bundled corpus: {done} records")
            out.flush()

    report = ingest(store, [str(bundled_corpus())], progress=progress)
    end = "\n" if live else ""
    out.write(f"{end}arxiv-qa: ingested {report.records} records, {report.chunks_embedded} chunks\n")


def prepare(settings: Settings, out: TextIO = sys.stderr) -> QA:
    """A warm `QA` over the store, filled from the bundled corpus when empty."""
    store = Writer(settings)
    fill_if_empty(store, out)
    qa = QA(settings, store)
    qa.resolve_mode(None)  # a bad mode setting fails now, not on the first question
    out.write("arxiv-qa: loading the models…\n")
    out.flush()
    qa.warm  # noqa: B018  (loads the models before the server listens)
    return qa


def create_api(qa: QA, workers: Workers | None = None, backoff: LoginBackoff | None = None) -> FastAPI:
    """The FastAPI app with the /api routes, their docs (/docs) and JSON errors, behind the guards.

    The docs page loads Swagger UI from this server (`fastapi-offline`), never from a CDN.
    """
    app = FastAPIOffline(title="arxiv-qa", version=version("arxiv-qa"), docs_url="/docs", redoc_url=None,
                         static_url=DOCS_ASSETS, favicon_url="/favicon.ico",
                         description="Question answering over arXiv abstracts, with citations you can check.")
    install_error_handlers(app)
    app.include_router(api_router(qa, workers))
    guard(app, qa.settings, backoff)
    return app


def guard(app: FastAPI, settings: Settings, backoff: LoginBackoff | None = None) -> None:
    """Put `ui.web.guard`'s checks in front of `app`: the bearer token first, then the body size, then the login."""
    app.add_middleware(NotFoundAsError)
    app.add_middleware(LoginThrottle, backoff=backoff or LoginBackoff())
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(BearerFirst, token=settings.secret("api_token"))


def chat_page(qa: QA, workers: Workers | None = None) -> gr.Blocks:
    """The Gradio page; its answers run on `workers` (a queue for the rest)."""
    demo = build(ChatApp(qa, workers=workers))
    demo.queue(default_concurrency_limit=qa.settings.concurrency_limit)
    return demo


def create_app(qa: QA, backoff: LoginBackoff | None = None) -> FastAPI:
    """The API app with the chat page mounted at "/" (behind the login when ARXIV_QA_AUTH is set)."""
    settings = qa.settings
    workers = Workers(qa)
    page = chat_page(qa, workers)
    mounted: FastAPI = gr.mount_gradio_app(
        create_api(qa, workers, backoff), page, path="/", server_name=settings.host, server_port=settings.port,
        auth=page_auth(settings), auth_message="arXiv QA: sign in with the credentials your team shared.",
        theme=theme(), css=CSS, js=SCRIPT, favicon_path=str(FAVICON), footer_links=["api"], run_history=False,
        ssr_mode=False, show_error=False, max_file_size=settings.max_upload_mb * MB,
    )
    # Mounting never marks the page launched, which would leave Gradio's own check that a file
    # input names an uploaded file switched off (the upload handler checks it again itself).
    page.has_launched = True
    return mounted


BACKLOG = 2048  # uvicorn's own


def bind(settings: Settings) -> socket.socket:
    """The server's socket, bound now so a taken port fails before the models load (QAError, exit 1)."""
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((settings.host.strip("[]"), settings.port))
    except OSError as e:
        sock.close()
        raise QAError(f"cannot listen on {settings.host}:{settings.port}: {e.strerror}") from None
    return sock


def serve(settings: Settings, insecure: bool = False, out: TextIO = sys.stderr) -> None:
    """Check the bind address, prepare the store and models, then serve until interrupted."""
    check_exposure(settings, insecure)
    page_auth(settings)
    sock = bind(settings)
    app = create_app(prepare(settings, out))
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    sock.listen(BACKLOG)  # connections made once the URL is printed queue until uvicorn accepts them
    out.write(f"arxiv-qa: chat on http://{host}:{sock.getsockname()[1]}/  (HTTP API docs: /docs; Ctrl-C stops)\n")
    out.flush()
    # Open event streams (a browser tab, a gradio_client) must not hold up Ctrl-C for long.
    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=GRACE_SECONDS)
    uvicorn.Server(config).run(sockets=[sock])
