"""HTML of the chat: answers with their citations as links, the sources panel, the status line, the
corpus overview and paper list.

Pure functions from library objects to HTML strings. Abstract text is untrusted: every piece of
it goes through `html.escape` before it is put into HTML, and the only links are built here from
`Citation.url` (an arXiv page); a `doc:` key is shown as a source without an arXiv ID, never a link.
The chat renders these strings as (sanitised) HTML, not markdown, so no markdown syntax or bare
URL inside an abstract turns into markup either.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from html import escape
from typing import Any

from qa.answer.citations import BRACKET_RE, KEY_RE, canonical
from qa.answer.claims import claim_text
from qa.index.overview import Overview, PaperRow
from qa.index.similar import SimilarPaper
from qa.papers import split_sentences
from qa.types import Answer, Citation, UnsupportedClaim

ARXIV_PREFIX = "https://arxiv.org/abs/"
NO_ID = "no arXiv ID: this abstract was found without one, and none is guessed"
NOT_SUPPORTED = "not supported by the cited abstract"
_OPEN, _CLOSE = "\x02", "\x03"  # where a marked claim starts and ends (they survive `escape`)
THINKING = '<span class="thinking">Searching the abstracts…</span>'
COPY_BUTTON = '<button type="button" class="copy-answer">Copy answer</button>'  # the page's script copies the text
EMPTY_SOURCES = (
    '<div class="sources-empty">The papers an answer cites appear here, '
    "with the sentences it relies on highlighted.</div>"
)


def safe_url(url: str | None) -> str | None:
    """`url` if it is an arXiv abstract page, else None (nothing else ever becomes a link)."""
    return url if url and url.startswith(ARXIV_PREFIX) and '"' not in url else None


def key_class(key: str) -> str:
    """The class naming a paper on a citation and on its card (the chat keeps classes, not data attributes).

    >>> key_class("arXiv:2506.05176"), key_class("doc:575304d32a8f")
    ('k-arXiv-2506-05176', 'k-doc-575304d32a8f')
    """
    return "k-" + re.sub(r"[^A-Za-z0-9]", "-", key)


def cite_html(key: str, citation: Citation | None) -> str:
    """One inline citation: a link to its arXiv page, or a marked `doc:` key (a button, no link).

    The page's script takes a click on either to this paper's card under the answer.
    """
    label = escape(key)
    url = safe_url(citation.url) if citation else None
    title = escape(citation.title or key, quote=True) if citation else ""
    if url:
        href = escape(url, quote=True)
        return (f'<a class="cite {key_class(key)}" href="{href}" target="_blank" rel="noopener" '
                f'title="{title}">{label}</a>')
    if citation is not None:
        return (f'<button type="button" class="cite doc {key_class(key)}" '
                f'title="{escape(NO_ID, quote=True)}">{label}</button>')
    return f"[{label}]"  # a key the library did not confirm: plain text


def with_citations(text: str, citations: Mapping[str, Citation] | None) -> str:
    """`text` escaped, each ``[key]`` made a citation (a preview, `citations` None: plain text)."""
    out: list[str] = []
    last = 0
    for match in BRACKET_RE.finditer(text):
        out.append(escape(text[last:match.start()]))
        keys = [canonical(k) for k in KEY_RE.findall(match.group(1))]
        if citations is None:
            out.append(escape(match.group(0)))
        else:
            out.append("[" + "; ".join(cite_html(k, citations.get(k)) for k in keys) + "]")
        last = match.end()
    out.append(escape(text[last:]))
    return "".join(out)


def paragraphs(text: str, citations: Mapping[str, Citation] | None) -> str:
    """Blank-line separated paragraphs; lines starting with "- " become a list."""
    blocks = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = block.splitlines()
        items = [line[2:] for line in lines if line.startswith("- ")]
        intro = [line for line in lines if not line.startswith("- ")]
        html = "<br>".join(with_citations(line, citations) for line in intro)
        if items:
            html += "<ul>" + "".join(f"<li>{with_citations(i, citations)}</li>" for i in items) + "</ul>"
        blocks.append(f"<p>{html}</p>" if not items else f"<div>{html}</div>")
    return "".join(blocks)


def preview_html(text: str) -> str:
    """The answer while it is still being produced: escaped, its citations not yet checked."""
    return paragraphs(text, None) if text.strip() else THINKING


Similar = Mapping[str, Sequence[SimilarPaper]]  # per cited key, the papers most like it


def similar_html(papers: Sequence[SimilarPaper]) -> str:
    """The "Similar papers" list of a source card: each a link to its arXiv page (a doc: key as plain text)."""
    if not papers:
        return ""
    items = []
    for p in papers:
        name = escape(p.title or p.key) + (' <span class="guessed">(guessed title)</span>' if p.title_guessed else "")
        url = safe_url(p.url)
        ref = (f'<a href="{escape(url, quote=True)}" target="_blank" rel="noopener">{escape(p.key)}</a>' if url
               else f'<span class="cite doc">{escape(p.key)}</span>')
        items.append(f"<li>{ref} {name}</li>")
    return f'<details class="similar"><summary>Similar papers</summary><ul>{"".join(items)}</ul></details>'


def answer_html(answer: Answer, abstracts: Mapping[str, str] | None = None, bibtex: str = "",
                similar: Similar | None = None) -> str:
    """The final answer: checked citations as links, unsupported claims marked, then warnings and details,
    and under it its own sources (each with its full abstract when `abstracts` has it) and its BibTeX."""
    cited = {c.key: c for c in answer.citations}
    body = marked(answer.answer, answer.unsupported_claims, cited)
    body = f'<div class="answer-body{" refused" if answer.refused else ""}">{body}</div>'
    notes = "".join(f'<p class="warning">⚠ {escape(w)}</p>' for w in answer.warnings)
    return (body + unsupported_html(answer.unsupported_claims) + notes + meta_html(answer) + COPY_BUTTON
            + answer_sources_html(answer, abstracts or {}, bibtex, similar))


def answer_sources_html(answer: Answer, abstracts: Mapping[str, str], bibtex: str,
                        similar: Similar | None = None) -> str:
    """The "Sources (n)" control under an answer, which opens that answer's cards, and its BibTeX."""
    if answer.refused or not answer.citations:
        return ""
    cards = "".join(source_html(n, c, answer, abstracts.get(c.key), (similar or {}).get(c.key, ()))
                    for n, c in enumerate(answer.citations, 1))
    out = (f'<details class="answer-sources"><summary>Sources ({len(answer.citations)})</summary>'
           f'<div class="sources">{cards}</div></details>')
    if bibtex:
        out += f'<details class="bibtex"><summary>BibTeX</summary><pre>{escape(bibtex)}</pre></details>'
    return out


def marked(text: str, claims: list[UnsupportedClaim], citations: Mapping[str, Citation]) -> str:
    """`paragraphs` of `text`, each unsupported claim's sentence underlined with a note on hover."""
    if not claims:
        return paragraphs(text, citations)
    text = text.replace(_OPEN, "").replace(_CLOSE, "")
    for claim in claims:
        text = text.replace(claim.sentence, f"{_OPEN}{claim.sentence}{_CLOSE}", 1)
    html = paragraphs(text, citations)
    return html.replace(_OPEN, f'<span class="unsupported-claim" title="{NOT_SUPPORTED}">').replace(_CLOSE, "</span>")


def unsupported_html(claims: list[UnsupportedClaim]) -> str:
    """The note under an answer listing the claims the cited abstracts do not support (nothing if none)."""
    if not claims:
        return ""
    items = "".join(f"<li>“{escape(claim_text(c.sentence))}” [{escape(c.key)}] · support {c.support:.2f}</li>"
                    for c in claims)
    return f'<div class="unsupported"><p class="warning">⚠ {NOT_SUPPORTED.capitalize()}:</p><ul>{items}</ul></div>'


def meta_html(answer: Answer) -> str:
    """How the answer was made: the answerer, the time taken, the filters, a rewritten follow-up."""
    how = f"LLM {answer.model}" if answer.mode == "llm" and answer.model else answer.mode
    parts = [f"{escape(how)} · {answer.timings.get('total', 0.0):.1f} s · {len(answer.passages)} passages searched"]
    if answer.filters is not None and not answer.filters.empty:
        parts.append(f'<span class="filters">search limited to: {escape(answer.filters.describe())}</span>')
    if answer.standalone_question:
        parts.append(f"read as: “{escape(answer.standalone_question)}”")
    return '<div class="answer-meta">' + "<br>".join(parts) + "</div>"


def excerpt(text: str, cited: list[str], context: int = 1) -> str | None:
    """The sentences of `text` around the `cited` ones (those marked), others elided; None if none is cited."""
    sentences = split_sentences(text)
    hits = [i for i, s in enumerate(sentences) if any(s in c or c in s for c in cited)]
    if not hits:
        return None
    keep = sorted({j for i in hits for j in range(i - context, i + context + 1) if 0 <= j < len(sentences)})
    out, previous = [], -1
    for j in keep:
        if j != previous + 1:
            out.append("…")
        sentence = escape(sentences[j])
        out.append(f"<mark>{sentence}</mark>" if j in hits else sentence)
        previous = j
    if previous != len(sentences) - 1:
        out.append("…")
    return " ".join(out)


def supporting_text(citation: Citation, answer: Answer) -> str:
    """The cited sentences of a paper highlighted, with a sentence of context from its retrieved passages."""
    cited = split_sentences(citation.snippet) or [citation.snippet]
    shown = [e for p in answer.passages if p.chunk.doc_key == citation.key
             if (e := excerpt(p.chunk.text, cited)) is not None]
    if not shown:  # the snippet spans chunks or was normalised: show it on its own
        shown = [f"<mark>{escape(citation.snippet)}</mark>"] if citation.snippet else []
    return "<br>".join(dict.fromkeys(shown))


def source_html(number: int, citation: Citation, answer: Answer, abstract: str | None = None,
                similar: Sequence[SimilarPaper] = ()) -> str:
    """One card of the sources panel; with `abstract`, a control that expands it to the full abstract;
    with `similar`, the papers most like it."""
    url = safe_url(citation.url)
    if url:
        ref = f'<a href="{escape(url, quote=True)}" target="_blank" rel="noopener">{escape(citation.key)}</a>'
    else:
        ref = (f'<span class="cite doc">{escape(citation.key)}</span> '
               f'<span class="no-id" title="{escape(NO_ID, quote=True)}">no arXiv ID</span>')
    title = f'<div class="source-title">{escape(citation.title)}</div>' if citation.title else ""
    full = (f'<details class="full-abstract"><summary>Full abstract</summary><p>{escape(abstract)}</p></details>'
            if abstract else "")
    return (
        f'<div class="source {key_class(citation.key)}"><div class="source-head">'
        f'<span class="source-n">{number}</span> {ref}</div>'
        f'{title}<blockquote class="source-text">{supporting_text(citation, answer)}</blockquote>{full}'
        f'{similar_html(similar)}</div>'
    )


def sources_html(answer: Answer | None, abstracts: Mapping[str, str] | None = None,
                 similar: Similar | None = None) -> str:
    """The sources panel: each cited paper with its supporting text (full abstract, similar papers when known)."""
    if answer is None or not answer.citations:
        return EMPTY_SOURCES
    abstracts = abstracts or {}
    cards = "".join(source_html(n, c, answer, abstracts.get(c.key), (similar or {}).get(c.key, ()))
                    for n, c in enumerate(answer.citations, 1))
    return f'<div class="sources">{cards}</div>'


def status_html(stats: Mapping[str, Any], mode_label: str, note: str = "") -> str:
    """The status line: corpus size and answer mode (and what an ingest is doing)."""
    line = (f"{stats.get('papers', 0):,} papers · {stats.get('chunks', 0):,} chunks"
            f" · answers: {escape(mode_label)}")
    if note:
        line += f" · {escape(note)}"
    return f'<div class="status-line">{line}</div>'


def user_html(question: str) -> str:
    """A user's message, escaped."""
    return escape(question).replace("\n", "<br>")


def error_html(message: str) -> str:
    """An answer that failed, shown in place of the answer."""
    return f'<p class="warning">⚠ {escape(message)}</p>'


def span_text(first: date | None, last: date | None) -> str:
    """The months a corpus spans, e.g. "2024-07 to 2025-08" ("" when no paper is dated)."""
    if first is None or last is None:
        return ""
    a, b = first.strftime("%Y-%m"), last.strftime("%Y-%m")
    return a if a == b else f"{a} to {b}"


def overview_html(overview: Overview) -> str:
    """The first screen: what the corpus holds (papers, chunks, date span, top categories when known)."""
    figures = [f"<strong>{overview.papers:,}</strong> papers", f"<strong>{overview.chunks:,}</strong> chunks"]
    if span := span_text(overview.first, overview.last):
        figures.append(f"dated {span}")
    out = ('<div class="overview"><h2>Ask about the papers in the corpus</h2>'
           f'<p class="figures">{" · ".join(figures)}</p>')
    if overview.categories:
        top = " · ".join(f"{escape(c)} ({n:,})" for c, n in overview.categories)
        out += f'<p class="categories">Top categories: {top}</p>'
    return out + "<p>Answers quote the abstracts and link each claim to its arXiv page.</p></div>"


def papers_html(rows: list[PaperRow], found: int, total: int) -> str:
    """The browsable list of papers: label, key (linked to arXiv when it is an ID) and date."""
    if not rows:
        return '<p class="papers-note">No paper matches.</p>'
    body = "".join(
        f'<tr><td>{escape(r.label)}</td><td class="key">{paper_ref(r.key)}</td>'
        f'<td class="when">{escape(r.when)}</td></tr>' for r in rows)
    shown = f"{len(rows):,} of {found:,}" + (f" matching ({total:,} in all)" if found != total else "")
    return (f'<p class="papers-note">Showing {shown}, newest first.</p><table class="paper-list">'
            '<thead><tr><th scope="col">Paper</th><th scope="col">ID or key</th><th scope="col">Date</th></tr>'
            f"</thead><tbody>{body}</tbody></table>")


def paper_ref(key: str) -> str:
    """A paper's key: a link to its arXiv page for an `arXiv:` key, plain text for a `doc:` key."""
    if key.startswith("arXiv:"):
        url = escape(ARXIV_PREFIX + key.removeprefix("arXiv:"), quote=True)
        return f'<a href="{url}" target="_blank" rel="noopener">{escape(key)}</a>'
    return f"<span>{escape(key)}</span>"
