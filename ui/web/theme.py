"""How the page looks: the Gradio theme and the CSS of the classes `ui.web.render` emits."""

from __future__ import annotations

import gradio as gr

# System fonts only: the page must look right on a machine without internet.
FONT = ("ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "Roboto", "sans-serif")
FONT_MONO = ("ui-monospace", "SFMono-Regular", "Consolas", "monospace")


def theme() -> gr.themes.Base:
    # Calm controls; the arXiv red is kept for links and the Ask button (CSS below), where it means "act".
    return gr.themes.Soft(primary_hue="slate", secondary_hue="slate", neutral_hue="slate", font=FONT,
                          font_mono=FONT_MONO)


CSS = """
.gradio-container { max-width: 1280px !important; margin: 0 auto !important; }
#header { align-items: flex-end; border-bottom: 1px solid var(--border-color-primary); padding-bottom: 6px; }
#header h1 { font-size: 1.6rem; margin: 0; }
#header h1 .accent { color: #b31b1b; }
#header p { margin: 2px 0 0; color: var(--body-text-color-subdued); }
#header .api-link { font-size: 0.85rem; white-space: nowrap; margin-left: 6px; }
.status-line { font-size: 0.9rem; color: var(--body-text-color-subdued); text-align: right; }
.thinking { color: var(--body-text-color-subdued); font-style: italic; }
.cite { font-size: 0.85em; white-space: nowrap; text-decoration: none; font-weight: 600; }
a.cite { color: #b31b1b; }
.cite.doc { color: var(--body-text-color-subdued); font-family: var(--font-mono); cursor: help; }
.refused { color: var(--body-text-color-subdued); }
.warning { color: #9a6700; font-size: 0.9em; }
.unsupported-claim { text-decoration: underline wavy #9a6700; text-underline-offset: 3px; cursor: help; }
.unsupported { color: #9a6700; font-size: 0.9em; }
.unsupported ul { margin: 0 0 4px; }
.answer-meta { margin-top: 8px; font-size: 0.78em; color: var(--body-text-color-subdued); }
.sources-empty { color: var(--body-text-color-subdued); font-size: 0.9rem; padding: 8px 2px; }
.sources { display: flex; flex-direction: column; gap: 10px; max-height: 560px; overflow-y: auto; }
.source { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 8px 10px;
          background: var(--background-fill-secondary); }
.source-head { font-weight: 600; font-size: 0.92rem; }
.source-head a { color: #b31b1b; }
.source-n { display: inline-block; min-width: 1.4em; text-align: center; border-radius: 999px;
            background: #b31b1b; color: white; font-size: 0.75rem; margin-right: 4px; }
.source-title { font-size: 0.88rem; margin-top: 2px; }
.no-id { font-weight: 400; font-size: 0.8rem; color: var(--body-text-color-subdued); }
.source-text { margin: 6px 0 0; padding-left: 8px; border-left: 3px solid var(--border-color-primary);
               font-size: 0.86rem; line-height: 1.45; }
.source-text mark { background: #fff3b0; color: inherit; padding: 0 1px; border-radius: 2px; }
.dark .source-text mark { background: #6b5900; }
#ingest-progress { font-size: 0.88rem; }
.answer-sources, .bibtex { margin-top: 6px; font-size: 0.9rem; }
.answer-sources > summary, .bibtex > summary, .full-abstract > summary { cursor: pointer; font-weight: 600; }
.answer-sources .sources { max-height: none; margin-top: 6px; }
.source.current { outline: 3px solid #b31b1b; outline-offset: 1px; }
.full-abstract { margin-top: 6px; font-size: 0.86rem; }
.bibtex pre { white-space: pre-wrap; font-size: 0.8rem; user-select: all; }
button.cite.doc { background: none; border: none; padding: 0; font: inherit; font-size: 0.85em; }
.cite:focus-visible { outline: 2px solid currentColor; }
#ask { background: #b31b1b; color: white; border: none; }
#ask:hover { background: #8f1515; }
"""

# Runs once on page load. A click (or Enter: a link or a button) on a citation in an answer opens that answer's sources
# and brings the cited paper's card into view, outlined; the card holds the arXiv link.
SCRIPT = """() => {
  const key = (el) => [...el.classList].find(c => c.startsWith('k-'));
  const show = (cite) => {
    const bot = cite.closest('[data-testid="bot"]');
    const box = bot && bot.querySelector('details.answer-sources');
    const card = box && [...box.querySelectorAll('.source')].find(c => key(c) === key(cite));
    if (!card) return false;
    box.open = true;
    document.querySelectorAll('.source.current').forEach(c => c.classList.remove('current'));
    card.classList.add('current');
    card.setAttribute('tabindex', '-1');
    card.scrollIntoView({block: 'center'});
    card.focus({preventScroll: true});
    return true;
  };
  const cite = (e) => e.target.closest && e.target.closest('#chat .cite');
  document.addEventListener('click', (e) => { const c = cite(e); if (c && show(c)) e.preventDefault(); });
}"""
