"""The chat page: Gradio Blocks layout and the handlers behind it.

Handlers parse what the controls hold, call the library (`QA.stream` on the shared answer
`Workers`, `ingest` in a thread) and render the results with `ui.web.render`. Library errors reach
the user as `gr.Error` (a short message), never a traceback. Each browser session keeps its
conversation in a `gr.State`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import suppress
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

import anyio
import gradio as gr

from qa.answer.chat import Message
from qa.answer.engine import QA
from qa.errors import QAError
from qa.index.bibtex import bibtex
from qa.index.overview import Overview, overview
from qa.index.similar import SimilarPaper, similar_papers
from qa.index.writer import Writer
from qa.types import Answer
from ui.web import render
from ui.web.feedback import FEEDBACK_FILE, MAX_COMMENT_CHARS, record_feedback
from ui.web.inputs import mode_choices, mode_label, month_range, month_span, parse_month
from ui.web.saved import SavedConversations, SavedTurn, browser_secret, new_id
from ui.web.uploads import IngestJob
from ui.web.workers import Workers, in_threads

EXAMPLE_SLOTS = 4  # example-question buttons on the first screen (drawn from the corpus: `qa.index.overview`)
PAPERS_SHOWN = 50  # rows of the paper list at once; the search narrows it
MAX_PAGE_K = 20  # the passages slider's top
RETRY_MORE = 6  # "Retry with more passages": twice the passages, and at least this many more
UPLOAD_TYPES = [".txt", ".xml", ".atom", ".json", ".jsonl"]

ChatUpdate = tuple[Any, list[dict[str, str]], Any, "Conversation"]


@dataclass
class Turn:
    """One question of a conversation and what the page shows for it."""

    question: str
    html: str = render.THINKING
    answer: Answer | None = None
    reply: str | None = None  # the answer's text; a reopened saved turn has this but no `answer`

    def __post_init__(self) -> None:
        if self.reply is None and self.answer is not None:
            self.reply = self.answer.answer


@dataclass
class Conversation:
    """A browser session's conversation, saved under `owner` (None: not saved, e.g. an API client)."""

    turns: list[Turn] = field(default_factory=list)
    owner: str | None = None
    id: str = field(default_factory=new_id)

    def history(self) -> list[Message]:
        """The turns answered so far, as `QA.stream` takes them (plain text, citations as keys)."""
        messages: list[Message] = []
        for turn in self.turns:
            if turn.reply is not None:
                messages += [{"role": "user", "content": turn.question},
                             {"role": "assistant", "content": turn.reply}]
        return messages

    def saved_turns(self) -> list[SavedTurn]:
        return [SavedTurn(t.question, t.reply, t.html) for t in self.turns if t.reply is not None]

    @classmethod
    def reopened(cls, owner: str, conversation_id: str, turns: list[SavedTurn]) -> Conversation:
        return cls([Turn(t.question, t.html, None, t.reply) for t in turns], owner, conversation_id)

    def messages(self) -> list[dict[str, str]]:
        """The chat as the Chatbot shows it (HTML content)."""
        out = []
        for turn in self.turns:
            out += [{"role": "user", "content": render.user_html(turn.question)},
                    {"role": "assistant", "content": turn.html}]
        return out


def user_error(e: QAError) -> gr.Error:
    """A library error as the page shows it (gr.Error renders HTML: the message is escaped)."""
    return gr.Error(escape(str(e)), print_exception=False)


def verdict(check: Callable[..., object] | None = None, *args: Any) -> dict[str, Any]:
    """`gr.validate` of one control: valid unless `check(*args)` raises a library error (shown as text)."""
    try:
        if check is not None:
            check(*args)
    except QAError as e:
        return gr.validate(False, str(e))  # type: ignore[no-any-return]
    return gr.validate(True, "")  # type: ignore[no-any-return]


class ChatApp:
    """The page's handlers, over one warm `QA` shared by every session."""

    def __init__(self, qa: QA, job: IngestJob | None = None, workers: Workers | None = None) -> None:
        self.qa = qa
        self.settings = qa.settings
        # Uploads write through the engine's own store when it is a writer (the server's is), sharing its model.
        self.job = job or IngestJob(qa.store if isinstance(qa.store, Writer) else Writer(qa.settings))
        self.workers = workers or Workers(qa)
        self._stats: tuple[int, dict[str, Any]] | None = None
        self._overview: tuple[int, Overview] | None = None
        self.saved = SavedConversations(qa.store.root)

    @property
    def feedback_path(self) -> Path:
        return self.qa.store.root / FEEDBACK_FILE

    def stats(self) -> dict[str, Any]:
        """Store figures, recomputed only when the store's content changed."""
        generation = self.qa.store.generation()
        if self._stats is None or self._stats[0] != generation:
            self._stats = (generation, self.qa.store.stats())
        return self._stats[1]

    def overview(self) -> Overview:
        """The corpus overview (figures, paper list, examples), recomputed only when the store's content changed."""
        generation = self.qa.store.generation()
        if self._overview is None or self._overview[0] != generation:
            self._overview = (generation, overview(self.qa.store))
        return self._overview[1]

    def first_screen(self) -> list[Any]:
        """What the empty chat shows: the corpus overview, the example buttons, the paper list."""
        corpus = self.overview()
        examples = corpus.examples + [""] * (EXAMPLE_SLOTS - len(corpus.examples))
        return [gr.update(placeholder=render.overview_html(corpus)),
                *(gr.update(value=q, visible=bool(q)) for q in examples[:EXAMPLE_SLOTS]),
                gr.update(label=f"Papers in the corpus ({corpus.papers:,})"), self.browse("")]

    def browse(self, query: str) -> str:
        """The paper list, narrowed to the papers whose label, key or date hold every word of `query`."""
        corpus = self.overview()
        rows, found = corpus.search(query[:200], PAPERS_SHOWN)
        return render.papers_html(rows, found, corpus.papers)

    def status_line(self) -> str:
        job = self.job.status()
        note = job.message if job.running else ""
        return render.status_html(self.stats(), mode_label(self.qa.resolve_mode(None), self.settings), note)

    # --- chat ---
    def check(self, message: str, conversation: Conversation, k: float, mode: str, month_from: str | None,
              month_to: str | None, *filters: str | None) -> list[dict[str, Any]]:
        """Gradio's validator of `respond`: a message under each control that holds bad input."""
        start, end = verdict(parse_month, month_from, "from"), verdict(parse_month, month_to, "to")
        if start["is_valid"] and end["is_valid"]:
            end = verdict(month_range, month_from, month_to)
        return [verdict(self.qa.validate, message), verdict(), verdict(), verdict(self.qa.resolve_mode, mode),
                start, end, *(verdict() for _ in filters)]

    async def respond(self, message: str, conversation: Conversation, k: float, mode: str, month_from: str | None,
                      month_to: str | None, category: str | None = None,
                      author: str | None = None) -> AsyncIterator[ChatUpdate]:
        """Answer `message` in the conversation, streaming the answer into the chat.

        The answer waits for a worker of its kind (extractive or LLM) without holding a thread.
        """
        try:
            question = self.qa.validate(message)
            months = month_range(month_from, month_to)
        except QAError as e:
            raise user_error(e) from None
        history = conversation.history()
        turn = Turn(question)
        conversation.turns.append(turn)
        yield "", conversation.messages(), render.EMPTY_SOURCES, conversation
        pieces: list[str] = []
        try:
            async with self.workers.for_mode(mode):
                async for item in in_threads(self.qa.stream(question, history, int(k), mode, months,
                                                            category=category, author=author)):
                    if isinstance(item, Answer):
                        abstracts, bibtex = self.papers_of(item)
                        similar = await anyio.to_thread.run_sync(self.similar_of, item)
                        turn.answer, turn.reply = item, item.answer
                        turn.html = render.answer_html(item, abstracts, bibtex, similar)
                        self.keep(conversation)
                        yield "", conversation.messages(), render.sources_html(item, abstracts, similar), conversation
                    else:
                        pieces.append(item)
                        turn.html = render.preview_html("".join(pieces))
                        yield gr.skip(), conversation.messages(), gr.skip(), conversation
        except QAError as e:
            turn.html = render.error_html(str(e))
            yield "", conversation.messages(), render.EMPTY_SOURCES, conversation
            raise user_error(e) from None

    def papers_of(self, answer: Answer) -> tuple[dict[str, str], str]:
        """The full abstracts of the papers `answer` cites, and their BibTeX ("" if a paper has gone)."""
        keys = [c.key for c in answer.citations]
        abstracts = {key: paper.abstract for key in keys if (paper := self.qa.store.paper(key))}
        try:
            return abstracts, bibtex(self.qa.store, keys) if keys else ""
        except QAError:
            return abstracts, ""

    def similar_of(self, answer: Answer, k: int = 3) -> dict[str, list[SimilarPaper]]:
        """For each paper `answer` cites, the stored papers most like it (none for a paper that has gone)."""
        found: dict[str, list[SimilarPaper]] = {}
        for citation in answer.citations:
            with suppress(QAError):
                found[citation.key] = similar_papers(self.qa.store, citation.key, k)
        return found

    def clear(self, conversation: Conversation) -> tuple[list[dict[str, str]], str, Conversation, str, Any]:
        """A new conversation (the one before stays saved)."""
        return [], render.EMPTY_SOURCES, Conversation(owner=conversation.owner), "", self.saved_list(conversation.owner)

    def retry(self, conversation: Conversation, k: float) -> tuple[str, int, list[dict[str, str]], Conversation]:
        """Take back the last answer and put its question in the box with more passages (then asked again)."""
        if not conversation.turns:
            return gr.skip(), gr.skip(), gr.skip(), conversation
        turn = conversation.turns.pop()
        more = min(MAX_PAGE_K, max(int(k) * 2, int(k) + RETRY_MORE))
        return turn.question, more, conversation.messages(), conversation

    # --- saved conversations ---
    def keep(self, conversation: Conversation) -> None:
        """Save the conversation for its owner (a failure to save is shown; the answer stands)."""
        if conversation.owner is None:
            return
        try:
            self.saved.save(conversation.owner, conversation.id, conversation.saved_turns())
        except QAError as e:
            gr.Warning(escape(str(e)))

    def saved_list(self, owner: str | None, current: str | None = None) -> Any:
        choices = self.saved.listed(owner) if owner else []
        return gr.update(choices=choices, value=current if any(i == current for _, i in choices) else None)

    def start(self, browser: str | None, current: Conversation, request: gr.Request) -> tuple[Any, ...]:
        """On page load: whose page it is (the signed-in user, else this browser), and their latest conversation
        (unless a question was asked before this ran: that conversation is kept, and saved from now on)."""
        browser = browser or new_id()
        owner = f"user:{request.username}" if getattr(request, "username", None) else f"browser:{browser}"
        if current.turns:
            current.owner = owner
            self.keep(current)
            return browser, current, gr.skip(), self.saved_list(owner, current.id)
        latest = self.saved.listed(owner)[:1]
        conversation = self.reopen(owner, latest[0][1]) if latest else Conversation(owner=owner)
        return (browser, conversation, conversation.messages(), self.saved_list(owner, conversation.id))

    def reopen(self, owner: str, conversation_id: str) -> Conversation:
        turns = self.saved.turns(owner, conversation_id)
        return Conversation(owner=owner) if turns is None else Conversation.reopened(owner, conversation_id, turns)

    def open_saved(self, conversation: Conversation, chosen: str | None) -> tuple[Any, ...]:
        if not conversation.owner or not chosen:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        opened = self.reopen(conversation.owner, chosen)
        return opened, opened.messages(), render.EMPTY_SOURCES, ""

    def listed(self, conversation: Conversation) -> Any:
        return self.saved_list(conversation.owner, conversation.id)

    def rename(self, conversation: Conversation, title: str) -> tuple[Any, str]:
        if conversation.owner:
            self.saved.rename(conversation.owner, conversation.id, title)
        return self.saved_list(conversation.owner, conversation.id), ""

    def delete(self, conversation: Conversation) -> tuple[Any, ...]:
        if conversation.owner:
            self.saved.delete(conversation.owner, conversation.id)
        return self.clear(conversation)

    def feedback(self, conversation: Conversation, like: gr.LikeData) -> tuple[Any, int | None]:
        """Append a 👍/👎 on an answer to the feedback file; after a 👎, offer the comment box for it."""
        index = like.index if isinstance(like.index, int) else like.index[0]
        turn = conversation.turns[index // 2] if 0 <= index // 2 < len(conversation.turns) else None
        if turn is None or turn.answer is None:
            return gr.skip(), None  # not an answer (a failed one)
        vote = "up" if like.liked is True else "down" if like.liked is False else "none"  # "": taken back
        try:
            record_feedback(self.feedback_path, turn.answer, vote)
        except QAError as e:
            raise user_error(e) from None
        gr.Info("Thanks, your feedback was saved.")
        return gr.update(visible=vote == "down"), index // 2 if vote == "down" else None

    def comment(self, conversation: Conversation, turn_index: int | None, text: str) -> tuple[Any, str, None]:
        """Append the comment on the answer last voted 👎; hide the comment box."""
        turns = conversation.turns
        answer = turns[turn_index].answer if turn_index is not None and 0 <= turn_index < len(turns) else None
        text = " ".join(text.split())[:MAX_COMMENT_CHARS]
        if answer is not None and text:
            try:
                record_feedback(self.feedback_path, answer, "comment", text)
            except QAError as e:
                raise user_error(e) from None
            gr.Info("Thanks, your comment was saved.")
        return gr.update(visible=False), "", None

    # --- uploads ---
    def upload(self, files: list[str] | None) -> tuple[str, Any, Any, str]:
        """Start ingesting the uploaded files in the background."""
        try:
            status = self.job.start(files or [])
        except QAError as e:
            raise user_error(e) from None
        return escape(status.message), gr.Timer(active=True), None, self.status_line()

    def poll(self) -> tuple[str, str, Any]:
        """Progress of the background ingest, the status line, and whether to keep polling."""
        status = self.job.status()
        lines = [escape(status.message)] + [f"⚠ skipped {escape(e)}" for e in status.errors]
        return "<br>".join(lines), self.status_line(), gr.Timer(active=status.running)


def header_html() -> str:
    return (
        '<h1><span class="accent">arXiv</span> QA</h1>'
        "<p>Answers from arXiv abstracts. Every claim cites the paper it comes from. "
        '<a class="api-link" href="/docs" target="_blank">HTTP API</a></p>'
    )


@dataclass
class Page:
    """The components the handlers read and write."""

    conversation: gr.State
    status: gr.HTML
    chatbot: gr.Chatbot
    textbox: gr.Textbox
    send: gr.Button
    clear: gr.Button
    sources: gr.HTML
    k: gr.Slider
    mode: gr.Radio
    month_from: gr.Textbox
    month_to: gr.Textbox
    files: gr.File
    ingest: gr.Button
    progress: gr.HTML
    timer: gr.Timer
    comment_box: gr.Group
    comment: gr.Textbox
    send_comment: gr.Button
    voted: gr.State
    retry: gr.Button
    browser: gr.BrowserState
    saved: gr.Radio
    title: gr.Textbox
    rename: gr.Button
    delete: gr.Button
    examples: list[gr.Button]
    papers_box: gr.Accordion
    paper_search: gr.Textbox
    papers: gr.HTML
    filters: tuple[gr.Textbox, ...] = ()  # category, author


def build(chat: ChatApp) -> gr.Blocks:
    """The page: chat and input on the left, sources, options and uploads on the right."""
    demo: gr.Blocks
    with gr.Blocks(title="arXiv QA", analytics_enabled=False) as demo:
        conversation = gr.State(Conversation())
        browser = gr.BrowserState("", storage_key="arxiv-qa-browser", secret=browser_secret(chat.qa.store.root))
        saved, title, rename, delete = sidebar()
        with gr.Row(elem_id="header"):
            with gr.Column(scale=3):
                gr.HTML(header_html())
            with gr.Column(scale=2):
                status = gr.HTML(chat.status_line(), elem_id="status")
        with gr.Row(equal_height=False, elem_id="main-row"):
            with gr.Column(scale=3, elem_id="chat-column"):
                chatbot, examples, textbox, send, clear, retry = chat_column(chat)
                comment_box, comment, send_comment = comment_form()
            with gr.Column(scale=2):
                gr.HTML("<h2>Sources</h2>")
                sources = gr.HTML(render.EMPTY_SOURCES, elem_id="sources")
                papers_box, paper_search, papers = paper_list(chat)
                k, mode, month_from, month_to = options(chat)
                filters = metadata_filters()
                files, ingest_btn, progress = uploads()
        page = Page(conversation, status, chatbot, textbox, send, clear, sources, k, mode, month_from, month_to,
                    files, ingest_btn, progress, gr.Timer(1.0, active=False), comment_box, comment, send_comment,
                    gr.State(None), retry=retry, browser=browser, saved=saved, title=title, rename=rename,
                    delete=delete, examples=examples, papers_box=papers_box, paper_search=paper_search,
                    papers=papers, filters=filters)
        chat.job.gate.uploaded = demo.upload_file_set  # what Gradio's upload route received
        wire(chat, page)
        demo.load(chat.status_line, None, status, api_visibility="private", queue=False, show_progress="hidden")
        demo.load(chat.start, [browser, conversation], [browser, conversation, chatbot, saved],
                  api_visibility="private",
                  queue=False, show_progress="hidden")
        demo.load(chat.first_screen, None, [chatbot, *examples, papers_box, papers], api_visibility="private",
                  queue=False, show_progress="hidden")
    return demo


def chat_column(chat: ChatApp) -> tuple[gr.Chatbot, list[gr.Button], gr.Textbox, gr.Button, gr.Button, gr.Button]:
    """The chat, its first screen (the corpus overview and example questions as buttons), the question box."""
    corpus = chat.overview()
    chatbot = gr.Chatbot(
        elem_id="chat", height=560, show_label=False, render_markdown=False, sanitize_html=True, allow_tags=False,
        latex_delimiters=[], buttons=[], layout="bubble", placeholder=render.overview_html(corpus),
    )
    slots = corpus.examples + [""] * (EXAMPLE_SLOTS - len(corpus.examples))
    with gr.Row(elem_id="examples", equal_height=True):  # hidden by the CSS once the chat has a message
        examples = [gr.Button(q, visible=bool(q), size="sm", variant="secondary", elem_classes=["example"])
                    for q in slots[:EXAMPLE_SLOTS]]
    with gr.Row(elem_id="input-row"):
        textbox = gr.Textbox(elem_id="question", placeholder="Ask a question, or a follow-up…", label="Question",
                             show_label=False, scale=8, lines=1, max_lines=6, autofocus=True)
        send = gr.Button("Ask", variant="primary", scale=1, min_width=80, elem_id="ask")
    with gr.Row():
        clear = gr.Button("New chat", size="sm", variant="secondary", elem_id="new-chat")
        retry = gr.Button("Retry with more passages", size="sm", variant="secondary", elem_id="retry")
    return chatbot, examples, textbox, send, clear, retry


def sidebar() -> tuple[gr.Radio, gr.Textbox, gr.Button, gr.Button]:
    """Saved conversations: reopen one, rename or delete the open one."""
    with gr.Sidebar(open=False, label="Saved conversations", elem_id="saved-sidebar"):
        gr.HTML("<h2>Saved conversations</h2>")
        saved = gr.Radio([], label="Reopen", elem_id="saved", show_label=False)
        title = gr.Textbox(label="Rename the open conversation", max_lines=1, max_length=200, elem_id="rename-title")
        with gr.Row():
            rename = gr.Button("Rename", size="sm", elem_id="rename")
            delete = gr.Button("Delete", size="sm", variant="stop", elem_id="delete")
    return saved, title, rename, delete


def paper_list(chat: ChatApp) -> tuple[gr.Accordion, gr.Textbox, gr.HTML]:
    """The corpus's papers, newest first, with a search box that narrows them."""
    corpus = chat.overview()
    with gr.Accordion(f"Papers in the corpus ({corpus.papers:,})", open=False, elem_id="papers-box") as box:
        search = gr.Textbox(label="Search the papers", placeholder="words of the title or abstract, an ID, a year",
                            max_lines=1, elem_id="paper-search")
        papers = gr.HTML(chat.browse(""), elem_id="papers")
    return box, search, papers


def comment_form() -> tuple[gr.Group, gr.Textbox, gr.Button]:
    """The box offered after a 👎: what was wrong, in the user's words (optional)."""
    with gr.Group(visible=False, elem_id="feedback-comment") as box:
        comment = gr.Textbox(label="What was wrong with this answer? (optional)", lines=2, max_lines=6,
                             max_length=MAX_COMMENT_CHARS, elem_id="comment")
        send = gr.Button("Send comment", size="sm", elem_id="send-comment")
    return box, comment, send


def options(chat: ChatApp) -> tuple[gr.Slider, gr.Radio, gr.Textbox, gr.Textbox]:
    span = month_span(chat.stats().get("arxiv_ids", []))
    hint = f"The corpus's arXiv IDs span {span}." if span else None
    with gr.Accordion("Search options", open=False):
        k = gr.Slider(1, 20, value=chat.settings.top_k, step=1, label="Passages to retrieve (top-k)")
        mode = gr.Radio(mode_choices(chat.settings), value=chat.settings.mode, label="Answer mode")
        with gr.Row():
            month_from = gr.Textbox("", label="From month", placeholder="YYYY-MM (any)", info=hint, max_lines=1)
            month_to = gr.Textbox("", label="To month", placeholder="YYYY-MM (any)", max_lines=1)
    return k, mode, month_from, month_to


def metadata_filters() -> tuple[gr.Textbox, gr.Textbox]:
    """The category and author filter controls (empty: any)."""
    with gr.Accordion("Category and author", open=False), gr.Row():
        category = gr.Textbox("", label="Category", placeholder="cs.CL, or cs (any)", max_lines=1)
        author = gr.Textbox("", label="Author", placeholder="a name or part of one (any)", max_lines=1)
    return category, author


def uploads() -> tuple[gr.File, gr.Button, gr.HTML]:
    with gr.Accordion("Add abstracts", open=False):
        files = gr.File(file_count="multiple", file_types=UPLOAD_TYPES, type="filepath", elem_id="upload",
                        label="Abstract files: plain text, arXiv Atom XML, Kaggle JSON lines")
        ingest_btn = gr.Button("Ingest files", size="sm")
        progress = gr.HTML("", elem_id="ingest-progress")
    return files, ingest_btn, progress


def wire(chat: ChatApp, page: Page) -> None:
    """Connect the page's components to the handlers."""
    ask: dict[str, Any] = {
        # No progress overlay: the answer's own placeholder shows that it is coming. No queue limit:
        # the answers wait for their own workers (a slow LLM cannot hold up an extractive answer).
        "fn": chat.respond, "validator": chat.check, "show_progress": "hidden", "trigger_mode": "once",
        "concurrency_limit": None,
        "inputs": [page.textbox, page.conversation, page.k, page.mode, page.month_from, page.month_to, *page.filters],
        "outputs": [page.textbox, page.chatbot, page.sources, page.conversation],
    }
    private: dict[str, Any] = {"api_visibility": "private", "queue": False, "show_progress": "hidden"}
    listed: dict[str, Any] = {"fn": chat.listed, "inputs": page.conversation, "outputs": page.saved, **private}
    page.textbox.submit(api_name="ask", api_description="Answer a question, citing arXiv abstracts.", **ask).then(
        **listed)
    page.send.click(api_visibility="private", **ask).then(**listed)
    for button in page.examples:
        button.click(lambda q: q, button, page.textbox, **private).then(api_visibility="private", **ask).then(
            **listed)
    page.paper_search.change(chat.browse, page.paper_search, page.papers, **private)
    cleared = [page.chatbot, page.sources, page.conversation, page.textbox, page.saved]
    page.clear.click(chat.clear, page.conversation, cleared, **private)
    page.chatbot.clear(chat.clear, page.conversation, cleared, **private)
    page.retry.click(chat.retry, [page.conversation, page.k], [page.textbox, page.k, page.chatbot, page.conversation],
                     **private).then(api_visibility="private", **ask).then(**listed)
    page.saved.input(chat.open_saved, [page.conversation, page.saved],
                     [page.conversation, page.chatbot, page.sources, page.textbox], **private)
    page.rename.click(chat.rename, [page.conversation, page.title], [page.saved, page.title], **private)
    page.delete.click(chat.delete, page.conversation, cleared, **private)
    # Queued (not `private`): the thank-you toast (gr.Info) travels on the queue's event stream.
    page.chatbot.like(chat.feedback, [page.conversation], [page.comment_box, page.voted], api_visibility="private",
                      show_progress="hidden")
    page.send_comment.click(chat.comment, [page.conversation, page.voted, page.comment],
                            [page.comment_box, page.comment, page.voted], api_visibility="private",
                            show_progress="hidden")
    page.ingest.click(chat.upload, [page.files], [page.progress, page.timer, page.files, page.status], **private)
    page.timer.tick(chat.poll, None, [page.progress, page.status, page.timer], **private)
