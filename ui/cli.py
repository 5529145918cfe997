"""The `arxiv-qa` command line: a thin layer over the library.

Each command parses its options, calls one library function and prints the result (text, or JSON
with --json). Library errors become one line on stderr and exit status 1 (runtime) or 2 (bad input).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click
from pydantic import ValidationError

from qa.errors import BadInput, QAError
from qa.limits import JSONTooDeep, bounded_lines, load_json
from qa.settings import MAX_K, Settings

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int) -> None:
    """Print one line on stderr and exit."""
    click.echo(f"arxiv-qa: {message}", err=True)
    sys.exit(code)


def translate_errors(func: F) -> F:
    """Library errors to one-line messages and exit codes, never a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except QAError as e:
            fail(str(e), e.exit_code)
        except KeyboardInterrupt:
            fail("interrupted", 130)

    return wrapper  # type: ignore[return-value]


def settings_from(ctx: click.Context) -> Settings:
    settings: Settings = ctx.obj
    return settings


def _store_after_the_command(ctx: click.Context, param: click.Parameter, value: Path | None) -> None:
    if value is not None:
        ctx.obj = settings_from(ctx).model_copy(update={"store": value})


# The group's --store, also taken after a command's name (`arxiv-qa ask --store DIR ...`); not listed twice in --help.
store_option = click.option("--store", type=click.Path(file_okay=False, path_type=Path), hidden=True,
                            expose_value=False, callback=_store_after_the_command)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--store", type=click.Path(file_okay=False, path_type=Path), envvar="ARXIV_QA_STORE",
              help="Store directory (default: .arxiv-qa, or $ARXIV_QA_STORE).")
@click.version_option(package_name="arxiv-qa")
@click.pass_context
def main(ctx: click.Context, store: Path | None) -> None:
    """Ask questions about arXiv abstracts; answers cite arXiv IDs you can check.

    \b
    arxiv-qa ingest                 # the bundled sample corpus
    arxiv-qa ingest dumps/ more/*.txt
    arxiv-qa stats --json
    arxiv-qa check                  # catalog, vectors and BM25 index agree?
    arxiv-qa ask "How many languages does Qwen3 support?"
    arxiv-qa serve                  # the chat at http://127.0.0.1:7860
    arxiv-qa mcp                    # ask, search and paper for an MCP client (stdio)
    """
    logging.basicConfig(level=logging.WARNING, format="arxiv-qa: %(message)s")
    for handler in logging.getLogger().handlers:  # libraries that set their own loggers to DEBUG (bm25s) stay quiet
        handler.setLevel(logging.WARNING)
    overrides: dict[str, Any] = {"store": store} if store else {}
    try:
        ctx.obj = Settings(**overrides)
    except ValidationError as e:
        first = e.errors()[0]
        fail(f"bad setting {'.'.join(map(str, first['loc']))}: {first['msg']}", 2)


@main.command()
@click.argument("paths", nargs=-1)
@store_option
@click.pass_context
@translate_errors
def ingest(ctx: click.Context, paths: tuple[str, ...]) -> None:
    """Ingest abstract files, directories or globs (none: the bundled sample corpus).

    Re-running adds nothing new; a file that was cut short is completed. Bad files are listed
    and the good ones still go in; a file with a bad record is read up to it, and a record over
    the size limit is left out (exit status 2 if anything was left out). One writer at a time:
    another ingest of the same store waits for ARXIV_QA_WRITE_LOCK_WAIT seconds, then exits 1.

    \b
    arxiv-qa ingest
    arxiv-qa ingest ~/dumps/*.txt arxiv-metadata-oai-snapshot.json
    """
    from tqdm import tqdm

    from qa.index.writer import Writer
    from qa.ingest import ingest as run_ingest

    settings = settings_from(ctx)
    store = Writer(settings)
    with tqdm(unit=" papers", desc="ingest", disable=None, file=sys.stderr) as bar:
        report = run_ingest(store, paths, progress=bar.update)
    for error in report.errors:
        click.echo(f"arxiv-qa: skipped {error}", err=True)
    if report.upgraded:
        click.echo(f"{report.upgraded} stored paper(s) had their LaTeX made text (a store made by an older version).")
    stats = store.stats()
    partly = f" ({report.partial_files} only up to a bad record)" if report.partial_files else ""
    skipped = f" ({report.skipped_records} skipped)" if report.skipped_records else ""
    click.echo(
        f"{report.files} file(s) ingested{partly}, {report.skipped_files} unchanged, {report.bad_files} bad; "
        f"{report.records} records stored{skipped}, {report.chunks_embedded} chunks embedded. "
        f"Store: {stats['papers']} papers, {stats['chunks']} chunks."
    )
    if report.errors:
        sys.exit(2)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@store_option
@click.pass_context
@translate_errors
def stats(ctx: click.Context, as_json: bool) -> None:
    """Papers, IDs, chunks and variants in the store.

    \b
    arxiv-qa stats --json
    """
    from qa.index.store import Store

    settings = settings_from(ctx)
    figures = Store(settings).stats()
    if as_json:
        click.echo(json.dumps(figures))
        return
    for key, value in figures.items():
        if isinstance(value, dict):  # the categories
            shown = ", ".join(f"{c} {n}" for c, n in list(value.items())[:12])
            more = f", ... ({len(value)} in all)" if len(value) > 12 else ""
            click.echo(f"{key:22} {shown or '(none known)'}{more}")
        elif key != "arxiv_ids":
            click.echo(f"{key:22} {value}")


@main.command()
@click.option("--repair", is_flag=True, help="Make them agree: remove stray vectors, embed missing ones again.")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@store_option
@click.pass_context
@translate_errors
def check(ctx: click.Context, repair: bool, as_json: bool) -> None:
    """Store health: every catalog chunk has a readable vector, no stray vectors, the BM25 index agrees.

    Exit status 0 when healthy, 1 when not (or when another process is writing the store).
    --repair takes the store's write lock, removes vectors the catalog does not know, embeds the
    papers whose vectors are missing or unreadable again and rebuilds the BM25 index.

    \b
    arxiv-qa check
    arxiv-qa check --repair --json
    """
    from qa.index.check import check_store
    from qa.index.writer import Writer

    settings = settings_from(ctx)
    store = Writer(settings)
    if not (store.root / "catalog.sqlite").exists():
        raise BadInput(f"no store at {store.root}: run `arxiv-qa ingest` first")
    health = check_store(store, repair=repair)
    click.echo(json.dumps(health.to_dict()) if as_json else _render_health(health, str(store.root)))
    sys.exit(0 if health.healthy else 1)


def _render_health(health: Any, root: str) -> str:
    verdict = "healthy" if health.healthy else "NOT healthy: run `arxiv-qa check --repair`"
    lines = [f"store {root}: {verdict}",
             f"  catalog        {health.papers} papers, {health.chunks} chunks"
             + (f" ({len(health.unchunked)} papers without chunks)" if health.unchunked else ""),
             f"  vector store   {health.vectors} vectors; {len(health.missing)} of the catalog's chunks missing "
             f"or unreadable, {len(health.orphans)} not in the catalog",
             f"  BM25 index     {health.bm25}"]
    if health.interrupted:
        lines.append("  note           the last ingest did not finish; the next writer sweeps what it left")
    if health.repaired is not None:
        r = health.repaired
        lines.append(f"  repaired       {r['orphans_removed']} stray vectors removed, {r['papers_embedded']} papers "
                     f"({r['chunks_embedded']} chunks) embedded again, BM25 index rebuilt")
    return "\n".join(lines)


def _render(answer: Any) -> str:
    lines = [answer.answer]
    if answer.citations:
        lines.append("\nSources:")
        for c in answer.citations:
            where = c.url or f"{c.key} (no arXiv ID)"
            lines.append(f"  [{c.key}] {c.title or ''} {where}".replace("  ", " ", 1).rstrip())
    lines += [f"not supported by the cited abstract ({c.key}, support {c.support:.2f}): {c.sentence}"
              for c in answer.unsupported_claims]
    lines += [f"warning: {w}" for w in answer.warnings]
    filters = answer.filters
    if filters is not None and not filters.empty:
        lines.append(f"search limited to: {filters.describe()}")
    return "\n".join(lines)


def _read_batch(path: Path, max_line_chars: int) -> list[dict[str, Any]]:
    """The questions of a JSONL batch file; BadInput naming the first bad line (too long, too deep, not JSON)."""
    items = []
    try:
        with path.open(encoding="utf-8-sig") as f:
            for n, line in enumerate(bounded_lines(f, max_line_chars), 1):
                if line is None:
                    raise BadInput(f"{path}: line {n} is longer than {max_line_chars:,} characters")
                if line.strip():
                    items.append(_batch_item(path, n, line))
    except (OSError, UnicodeDecodeError) as e:
        raise BadInput(f"{path}: cannot read ({e})") from None
    return items


def _batch_item(path: Path, n: int, line: str) -> dict[str, Any]:
    try:
        item = load_json(line)
    except JSONTooDeep as e:
        raise BadInput(f"{path}: line {n} is {e}") from None
    except ValueError:
        raise BadInput(f"{path}: line {n} is not JSON") from None
    if not isinstance(item, dict) or not isinstance(item.get("question"), str):
        raise BadInput(f'{path}: line {n} needs a "question" string')
    return item


@main.command()
@click.argument("question", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the Answer as JSON.")
@click.option("--k", type=click.IntRange(1, MAX_K), default=None, help="Passages to retrieve (default 6).")
@click.option("--mode", type=click.Choice(["auto", "extractive", "llm"]), default=None,
              help="auto: the LLM when one is configured, else extractive.")
@click.option("--batch", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help='JSONL file of {"id", "question"}: one Answer JSON per line out, each with its "id".')
@click.option("--category", default=None, help="Only papers in this arXiv category (cs.CL) or archive (cs).")
@click.option("--author", default=None, help="Only papers with this author (a name or part of one: Lin).")
@store_option
@click.pass_context
@translate_errors
def ask(ctx: click.Context, question: str | None, as_json: bool, k: int | None, mode: str | None,
        batch: Path | None, category: str | None, author: str | None) -> None:
    """Answer a question from the abstracts, citing arXiv IDs.

    \b
    arxiv-qa ask "What model sizes does Qwen3 Embedding come in?"
    arxiv-qa ask "What does arXiv:2506.01939 find?" --json
    arxiv-qa ask "What is new in retrieval?" --category cs.CL --author "Lin"
    arxiv-qa ask --batch questions.jsonl --json > answers.jsonl
    """
    from qa.answer.engine import QA
    from qa.index.store import Store

    settings = settings_from(ctx)
    if (question is None) == (batch is None):
        raise BadInput("give a QUESTION or --batch FILE (not both)")
    items = _read_batch(batch, settings.max_line_chars) if batch is not None else None  # bad input first
    store = Store(settings)
    if store.is_empty():
        raise BadInput(f"the store {store.root} is empty: run `arxiv-qa ingest` first")
    engine = QA(settings, store)
    if items is not None:
        for item in items:
            answer = engine.ask(item["question"], k=k, mode=mode, category=category, author=author)
            click.echo(json.dumps({"id": item.get("id"), **answer.to_dict()}, ensure_ascii=False))
        return
    answer = engine.ask(question or "", k=k, mode=mode, category=category, author=author)
    click.echo(json.dumps(answer.to_dict(), ensure_ascii=False) if as_json else _render(answer))


def _progress_bar(desc: str) -> Any:
    from tqdm import tqdm

    return tqdm(unit=" papers", desc=desc, disable=None, file=sys.stderr)


def _remote_summary(report: Any, store: Any) -> None:
    for error in report.ingest.errors:
        click.echo(f"arxiv-qa: skipped {error}", err=True)
    stats = store.stats()
    click.echo(f"{report.records} records from arXiv in {report.requests} request(s): {report.new_papers} new "
               f"paper(s), {report.ingest.chunks_embedded} chunks embedded. "
               f"Store: {stats['papers']} papers, {stats['chunks']} chunks.")


def _day(value: str | None, option: str) -> Any:
    from datetime import date

    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise BadInput(f"{option}: {value.strip()[:40]!r} is not a date (YYYY-MM-DD)") from None


@main.command()
@click.option("--ids", default=None, help="arXiv IDs, comma-separated: 2505.09388,2412.15115")
@click.option("--query", default=None, help="An arXiv API search query: 'cat:cs.CL AND abs:retrieval'")
@click.option("--category", default=None, help="Papers of this category (cs.CL), newest first.")
@click.option("--since", default=None, help="Only papers first submitted on or after this date (YYYY-MM-DD).")
@click.option("--max", "limit", type=click.IntRange(1), default=None, help="At most this many papers.")
@store_option
@click.pass_context
@translate_errors
def fetch(ctx: click.Context, ids: str | None, query: str | None, category: str | None, since: str | None,
          limit: int | None) -> None:
    """Fetch papers from the arXiv API, with their titles, authors, categories and dates, and ingest them.

    One request every ARXIV_QA_ARXIV_DELAY seconds (3 by default, as arXiv asks); a 429 or 5xx
    answer is retried after the Retry-After it gives. Interrupted and run again, nothing is embedded twice.

    \b
    arxiv-qa fetch --ids 2505.09388,2412.15115
    arxiv-qa fetch --query 'cat:cs.CL AND abs:retrieval' --max 200
    arxiv-qa fetch --category cs.CL --since 2025-01-01
    """
    from qa.index.writer import Writer
    from qa.ingest.remote.api import ApiQuery, parse_ids
    from qa.ingest.remote.api import fetch as run_fetch

    q = ApiQuery(parse_ids(ids) if ids else (), query, category, _day(since, "--since"), limit)
    if since and not (query or category):
        raise BadInput("--since needs --query or --category (IDs name their papers already)")
    store = Writer(settings_from(ctx))
    with _progress_bar("fetch") as bar:

        def progress(done: int, total: int | None) -> None:
            bar.total = total
            bar.update(done)

        report = run_fetch(store, q, progress)
    _remote_summary(report, store)
    if report.ingest.errors:
        sys.exit(2)


@main.command()
@click.option("--set", "set_spec", default="cs", show_default=True, help="OAI-PMH set: cs, math, ...")
@click.option("--from", "start", default=None, help="First day (YYYY-MM-DD); default: where the last harvest ended.")
@click.option("--until", default=None, help="Last day (YYYY-MM-DD); default: today.")
@click.option("--format", "prefix", type=click.Choice(["arXiv", "arXivRaw"]), default="arXiv", show_default=True,
              help="Metadata format (arXivRaw also gives each version's date).")
@store_option
@click.pass_context
@translate_errors
def harvest(ctx: click.Context, set_spec: str, start: str | None, until: str | None, prefix: str) -> None:
    """Harvest new and updated papers of an arXiv set by OAI-PMH (ARXIV_QA_OAI_URL) and ingest them.

    With no --from it continues from the last harvest recorded in the store, so a daily cron line
    keeps a store current. Killed, it resumes where it stopped when run again.

    \b
    arxiv-qa harvest --set cs --from 2025-06-01
    arxiv-qa harvest --set cs            # from where the last one ended
    """
    from qa.index.writer import Writer
    from qa.ingest.remote.oai import harvest as run_harvest

    first, last = _day(start, "--from"), _day(until, "--until")
    store = Writer(settings_from(ctx))
    with _progress_bar("harvest") as bar:

        def progress(done: int, total: int | None) -> None:
            bar.total = total
            bar.update(done)

        report = run_harvest(store, set_spec, first, last, prefix, progress)
    _remote_summary(report, store)
    if report.ingest.errors:
        sys.exit(2)


@main.command()
@click.argument("id_or_key")
@click.option("--k", type=click.IntRange(1, MAX_K), default=5, show_default=True, help="How many papers.")
@click.option("--json", "as_json", is_flag=True, help="Print them as JSON.")
@store_option
@click.pass_context
@translate_errors
def similar(ctx: click.Context, id_or_key: str, k: int, as_json: bool) -> None:
    """The stored papers most like one paper (an arXiv ID or a doc: key), most similar first.

    \b
    arxiv-qa similar 2505.09388
    arxiv-qa similar doc:73d486c3a6a6 --k 10 --json
    """
    from qa.index.similar import similar_papers
    from qa.index.store import Store
    from qa.papers import paper_key

    key = paper_key(id_or_key)
    store = Store(settings_from(ctx))
    if store.is_empty():
        raise BadInput(f"the store {store.root} is empty: run `arxiv-qa ingest` first")
    found = similar_papers(store, key, k)
    if as_json:
        click.echo(json.dumps({"key": key, "similar": [p.to_dict() for p in found]}, ensure_ascii=False))
        return
    for p in found:
        title = f"{p.title} (guessed)" if p.title_guessed else p.title or ""
        click.echo(f"{p.score:.3f}  {p.key}  {title}".rstrip())


@main.command()
@click.option("--http", "http_mode", is_flag=True,
              help="HTTP Events API (SLACK_SIGNING_SECRET) instead of Socket Mode (SLACK_APP_TOKEN).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address the --http endpoint binds.")
@click.option("--port", type=click.IntRange(1, 65535), default=3000, show_default=True,
              help="Port of the --http endpoint.")
@store_option
@click.pass_context
@translate_errors
def slack(ctx: click.Context, http_mode: bool, host: str, port: int) -> None:
    """Slack bot: answers @mentions and direct messages in their thread, citing arXiv.

    Needs SLACK_BOT_TOKEN, and SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (--http).

    \b
    arxiv-qa slack                     # Socket Mode: no public URL needed
    arxiv-qa slack --http --port 3000  # Events API at http://127.0.0.1:3000/slack/events
    """
    from ui.slack.bot import run

    settings = settings_from(ctx)
    run(settings, http=http_mode, host=host, port=port)


@main.command()
@click.option("--host", default=None, help="Address to bind (default 127.0.0.1, or $ARXIV_QA_HOST).")
@click.option("--port", type=click.IntRange(0, 65535), default=None, help="Port (default 7860, or $ARXIV_QA_PORT).")
@click.option("--insecure", is_flag=True, help="Allow a non-loopback address without ARXIV_QA_AUTH/API_TOKEN.")
@store_option
@click.pass_context
@translate_errors
def serve(ctx: click.Context, host: str | None, port: int | None, insecure: bool) -> None:
    """The chat in the browser, and the HTTP API (/api/ask, docs at /docs) on the same port.

    Fills an empty store from the bundled corpus first. Binding anything but a loopback address
    needs ARXIV_QA_AUTH=user:password (the page) and ARXIV_QA_API_TOKEN (the API), or --insecure.

    \b
    arxiv-qa serve                                  # http://127.0.0.1:7860
    ARXIV_QA_AUTH=team:secret ARXIV_QA_API_TOKEN=t0k arxiv-qa serve --host 0.0.0.0
    """
    from ui.web.server import serve as run_server

    settings = settings_from(ctx)
    overrides = {"host": host, "port": port}
    settings = settings.model_copy(update={k: v for k, v in overrides.items() if v is not None})
    run_server(settings, insecure=insecure)


@main.command()
@click.option("--http", "http_mode", is_flag=True, help="Streamable HTTP at http://HOST:PORT/mcp instead of stdio.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address --http binds (others need a token).")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True, help="Port of --http.")
@click.option("--store", "store_opt", type=click.Path(file_okay=False, path_type=Path), hidden=True)
@click.pass_context
@translate_errors
def mcp(ctx: click.Context, http_mode: bool, host: str, port: int, store_opt: Path | None) -> None:
    """MCP server: ask, search and paper as tools for an MCP client (desktop chat app, IDE agent).

    Over --http, ARXIV_QA_API_TOKEN (when set) is required as `Authorization: Bearer <token>`.

    \b
    arxiv-qa mcp                       # stdio: what a desktop client starts
    arxiv-qa mcp --http --port 8765    # http://127.0.0.1:8765/mcp
    """
    from ui.mcp import run

    settings = settings_from(ctx)
    run(settings.model_copy(update={"store": store_opt}) if store_opt else settings, http_mode, host, port)


@main.command("eval")
@click.option("--split", type=click.Choice(["dev", "test", "all"]), default=None,
              help="Which split of the eval data directory: dev, test or all (the default), reported per split.")
@click.option("--gold", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Evaluate this one gold file instead (JSONL, see eval/README.md), as a split named after it.")
@click.option("--data", type=click.Path(file_okay=False, path_type=Path), default=Path("eval"), show_default=True,
              help="Eval data directory: gold.jsonl (dev), test.jsonl, conversations.jsonl, paraphrases.jsonl.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("eval/out"),
              show_default=True, help="Directory for report.md, report.json and the charts.")
@click.option("--judge", is_flag=True, help="Also grade answers with an LLM judge (needs an LLM configured).")
@store_option
@click.pass_context
@translate_errors
def eval_command(ctx: click.Context, split: str | None, gold: Path | None, data: Path, as_json: bool, out: Path,
                 judge: bool) -> None:
    """Score retrieval (BM25, dense, hybrid, plain-LlamaIndex baseline) and answers against gold questions.

    Per split (dev: eval/gold.jsonl, test: the held-out eval/test.jsonl): retrieval, answers, a
    breakdown by category, the multi-turn conversations, and (dev) the paraphrase consistency.
    Ingests the bundled corpus first if the store is empty. Writes report.md, report.json and
    PNG charts to --out; the answers are extractive, and LLM too when an LLM is configured.

    \b
    arxiv-qa eval                       # dev and test
    arxiv-qa eval --split test --json --out /tmp/eval
    arxiv-qa eval --gold my_gold.jsonl --judge
    """
    from qa.evaluation.evaluate_turns import evaluate_splits, gold_split, load_splits
    from qa.evaluation.report import summaries, write_report
    from qa.evaluation.report_text import console_summary

    settings = settings_from(ctx)
    if gold is not None and split is not None:
        raise click.UsageError("give --split or --gold, not both")
    splits = [gold_split(gold)] if gold is not None else load_splits(data, split or "all")
    reports = evaluate_splits(settings, splits, judge=judge, log=_eval_log)
    written = write_report(reports, out)
    click.echo(json.dumps(summaries(reports), indent=2) if as_json else console_summary(reports, written))


def _eval_log(message: str) -> None:
    click.echo(f"eval: {message}", err=True)


if __name__ == "__main__":
    main()
