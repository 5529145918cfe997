"""How the page looks: the Gradio theme and the CSS of the classes `ui.web.render` emits."""

from __future__ import annotations

import gradio as gr

# System fonts only: the page must look right on a machine without internet.
FONT = ("ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "Roboto", "sans-serif")
FONT_MONO = ("ui-monospace", "SFMono-Regular", "Consolas", "monospace")


def theme() -> gr.themes.Base:
    """Calm slate controls, every text colour at WCAG AA contrast (4.5:1) or better in light and dark.

    Soft's secondary text (slate-400 on slate-50, 2.45:1) and dark links (slate-500, 4.0:1) are darkened
    or lightened here; the arXiv red is kept for links and the Ask button (CSS below), where it means "act".
    """
    return gr.themes.Soft(primary_hue="slate", secondary_hue="slate", neutral_hue="slate", font=FONT,
                          font_mono=FONT_MONO).set(
        body_text_color_subdued="*neutral_600",  # #475569: 7.2:1 on the page, 6.9:1 on a card
        body_text_color_subdued_dark="*neutral_400",  # #94a3b8: 7.0:1 on the dark page
        link_text_color="*neutral_700", link_text_color_dark="*neutral_300",
        link_text_color_visited="*neutral_700", link_text_color_visited_dark="*neutral_300",
        link_text_color_hover="*neutral_900", link_text_color_hover_dark="*neutral_100",
        link_text_color_active="*neutral_900", link_text_color_active_dark="*neutral_100",
        block_info_text_color="*neutral_600", block_info_text_color_dark="*neutral_400",  # 6.9:1, 7.0:1
        block_title_text_color="*primary_600",  # labels of the options: Soft has slate-500, 4.3:1 on their panel
    )


# The arXiv red on a light page (6.5:1), a lighter red on a dark one (#f87171: 6.5:1 on slate-900);
# the amber of warnings likewise. Badges and the Ask button keep white on the dark red (6.8:1).
CSS = """
:root { --qa-red: #b31b1b; --qa-warn: #9a6700; }
.dark { --qa-red: #f87171; --qa-warn: #e3b341; }
.gradio-container { max-width: 1280px !important; margin: 0 auto !important; }
#header { align-items: flex-end; border-bottom: 1px solid var(--border-color-primary); padding-bottom: 6px; }
#header h1 { font-size: 1.6rem; margin: 0; }
#header h1 .accent { color: var(--qa-red); }
#header p { margin: 2px 0 0; color: var(--body-text-color-subdued); }
#header .api-link { font-size: 0.85rem; white-space: nowrap; margin-left: 6px; }
.status-line { font-size: 0.9rem; color: var(--body-text-color-subdued); text-align: right; }
.thinking { color: var(--body-text-color-subdued); font-style: italic; }
.cite { font-size: 0.85em; white-space: nowrap; text-decoration: none; font-weight: 600; }
a.cite { color: var(--qa-red); }
.cite.doc { color: var(--body-text-color-subdued); font-family: var(--font-mono); cursor: help; }
.refused { color: var(--body-text-color-subdued); }
.warning { color: var(--qa-warn); font-size: 0.9em; }
.unsupported-claim { text-decoration: underline wavy var(--qa-warn); text-underline-offset: 3px; cursor: help; }
.unsupported { color: var(--qa-warn); font-size: 0.9em; }
.unsupported ul { margin: 0 0 4px; }
.answer-meta { margin-top: 8px; font-size: 0.78em; color: var(--body-text-color-subdued); }
.sources-empty { color: var(--body-text-color-subdued); font-size: 0.9rem; padding: 8px 2px; }
.sources { display: flex; flex-direction: column; gap: 10px; max-height: 560px; overflow-y: auto; }
.source { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 8px 10px;
          background: var(--background-fill-secondary); }
.source-head { font-weight: 600; font-size: 0.92rem; }
.source-head a { color: var(--qa-red); }
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
.source.current { outline: 3px solid var(--qa-red); outline-offset: 1px; }
.full-abstract { margin-top: 6px; font-size: 0.86rem; }
.full-abstract > summary, .similar > summary { min-height: 24px; line-height: 24px; }
.similar { margin-top: 6px; font-size: 0.86rem; }
.similar > summary { cursor: pointer; font-weight: 600; }
.similar li { line-height: 24px; }
.bibtex pre { white-space: pre-wrap; font-size: 0.8rem; user-select: all; }
button.cite.doc { background: none; border: none; padding: 0; font: inherit; font-size: 0.85em; }
.cite:focus-visible { outline: 2px solid currentColor; }
#ask { background: #b31b1b; color: white; border: none; }
#ask:hover { background: #8f1515; }
button.copy-answer { margin-top: 6px; font-size: 0.8rem; padding: 1px 8px; border-radius: 6px; cursor: pointer;
                     border: 1px solid var(--border-color-primary); background: var(--background-fill-primary);
                     color: var(--body-text-color); }
.overview h2 { font-size: 1.15rem; margin: 0 0 6px; }
.overview p { margin: 4px 0; }
.overview .figures strong { font-size: 1.05em; }
#examples { flex-wrap: wrap; gap: 6px; }
#examples .example { flex: 1 1 40%; min-width: 140px; white-space: normal; text-align: left;
                     justify-content: flex-start; border: 1px solid var(--border-color-primary);
                     background: var(--background-fill-secondary); }
#examples .example:hover { border-color: var(--body-text-color-subdued); }
#chat-column:has(#chat [data-testid="bot"], #chat [data-testid="user"]) #examples { display: none; }
.papers-note { font-size: 0.85rem; color: var(--body-text-color-subdued); margin: 4px 0; }
.paper-list { width: 100%; border-collapse: collapse; font-size: 0.82rem; }
.paper-list th, .paper-list td { text-align: left; vertical-align: top; padding: 3px 4px;
                                 border-bottom: 1px solid var(--border-color-primary); }
.paper-list td.key, .paper-list td.when { white-space: nowrap; font-family: var(--font-mono); font-size: 0.78rem; }
#papers { max-height: 420px; overflow-y: auto; }
:focus-visible { outline: 2px solid var(--qa-red) !important; outline-offset: 2px; }
/* (Gradio scopes the rules of a media query to the page's content: they name its elements, not body.)
   A phone: the question box stays pinned to the bottom of the screen; the chat fits above it, and the
   page keeps room below its end so the last sources are not hidden behind the box. */
@media (max-width: 640px) {
  #main-row { margin-bottom: 96px !important; }  /* room below the end of the page: the box covers ~90px */
  #header { gap: 0 !important; }
  #header h1 { font-size: 1.25rem; }
  #header p, .status-line { font-size: 0.78rem; text-align: left; line-height: 1.3; }
  #chat { height: calc(100dvh - 390px) !important; min-height: 220px; }
  #input-row { position: fixed; left: 0; right: 0; bottom: 0; z-index: 20; margin: 0; padding: 8px;
               background: var(--background-fill-primary); border-top: 1px solid var(--border-color-primary); }
}
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
  // "Copy answer": the answer's text, its citations as written ([arXiv:…]), to the clipboard.
  document.addEventListener('click', (e) => {
    const copy = e.target.closest && e.target.closest('#chat .copy-answer');
    const body = copy && copy.closest('[data-testid="bot"]').querySelector('.answer-body');
    if (!body) return;
    navigator.clipboard.writeText(body.innerText.trim()).then(() => {
      copy.textContent = 'Copied'; setTimeout(() => { copy.textContent = 'Copy answer'; }, 1500); });
  });
  // Gradio names its upload area "Click to upload or drop files" while it shows "Drop File Here - or - Click to
  // Upload": a speech-input user says what they see (WCAG 2.5.3), so the visible text is made its name.
  const name = () => document.querySelectorAll('.upload-container[aria-label]').forEach(
    u => u.removeAttribute('aria-label'));
  new MutationObserver(name).observe(document.body, {subtree: true, childList: true, attributeFilter: ['aria-label']});
  name();
}"""
