"""LaTeX in abstracts made plain text, once, at ingest (`to_text`).

arXiv abstracts are plain text with LaTeX here and there: ``$5\\times$``, ``55.1$\\%$``,
``\\textbf{Ma}th``, ``\\href{url}{code}``, a macro the authors never defined (``\\system``), a stray
``$``. Each LaTeX construct is cut out of the text (an *island*: a ``$...$`` or ``\\(...\\)`` span, a
macro with the brace groups right after it, a brace group) and converted by pylatexenc's
LaTeX-to-text; the text between islands is kept as it is (but runs of white space, made one space).
Converting only the islands keeps a ``%`` or ``~`` of the plain text literal, and spends pylatexenc's
time (tens of microseconds a character) on them alone, remembering the common ones.

Math stays readable (``$O(\\log P)$`` -> ``O(log P)``, ``3$\\times$`` -> ``3`` and a times sign); a
macro pylatexenc does not know reads as its name (``\\system`` -> ``system``); ``\\href{u}{text}``
reads ``text (u)`` and ``\\url{u}`` ``u``; a ``$`` that pairs with none is dropped, but for a price
(``$5``). Islands are bounded in size and nesting and pylatexenc's share of a text is bounded, so the
time is linear in the text; an island pylatexenc fails on, or past that share, is converted roughly
(macro names, no braces or ``$``). `to_text` never raises.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from pylatexenc import latex2text, latexwalker, macrospec

MAX_ISLAND = 2000  # characters of one island: a longer brace group is left as text
MAX_DEPTH = 16  # brace nesting inside an island (pylatexenc recurses per level)
MAX_ARGS = 4  # brace groups taken as a macro's arguments
CACHED_ISLAND = 200  # islands up to this long are remembered (most are a few characters: $\times$)
# Past these in one text (no abstract comes near), islands are converted roughly: a bound on the time.
MAX_PARSED_ISLANDS = 500
MAX_PARSED_CHARS = 30_000
_MARKUP_RE = re.compile(r"[\\$]")
_START_RE = re.compile(r"[\\${]")  # where an island may start
# A math span: $$...$$, \[...\], \(...\), or $...$ opened before a non-space and closed after one.
_UP_TO = "{1,%d}?" % MAX_ISLAND  # noqa: UP031 (braces of a regex)
_NOT_DOLLAR = r"(?:[^$\\]|\\.)"  # an escaped character, or any but $ and \
_NOT_OPENING = r"(?:[^\\]|\\[^\[(])"  # anything but the start of \[ or \(: a failed span stops at the next one
_MATH_RE = re.compile(
    rf"\$\${_NOT_DOLLAR}{_UP_TO}\$\$|\\\[{_NOT_OPENING}{_UP_TO}\\\]|\\\({_NOT_OPENING}{_UP_TO}\\\)"
    rf"|\$(?=[^\s$]){_NOT_DOLLAR}{_UP_TO}(?<=[^\s\\])\$",
    re.DOTALL,
)
_MACRO_RE = re.compile(r"\\(?:[a-zA-Z]+\*?|['\"^`~=.](?:[a-zA-Z]|(?=\{))|.)", re.DOTALL)
_BRACE_RE = re.compile(r"[\\{}]")
_OPTIONAL_RE = re.compile(r"\[[^\[\]{}]{0,100}\]")
_PRICE_RE = re.compile(r"\$(?=\d)")
# Macros that print nothing worth reading: references, and font switches pylatexenc does not know.
_DROPPED = ("cite", "citep", "citet", "label", "ref", "eqref", "em", "bf", "it", "rm", "sf", "tt", "sc")
_ROUGH_RE = re.compile(r"\\([a-zA-Z]+|.)|[{}$]", re.DOTALL)
_BARE_PERCENT_RE = re.compile(r"(?<!\\)%")  # a comment in LaTeX, a percent sign in an abstract


def to_text(abstract: str) -> str:
    """`abstract` with its LaTeX made plain text; a text with no backslash or ``$`` comes back unchanged."""
    if not _MARKUP_RE.search(abstract):
        return abstract
    closing = _closing_braces(abstract)
    out: list[str] = []
    at, budget = 0, _Budget()
    for start, end in _islands(abstract, closing):
        island = abstract[start:end]
        out += [abstract[at:start], _island_text(island, budget.take(island))]
        at = end
    out.append(abstract[at:])
    return " ".join("".join(out).split())


class _Budget:
    """What pylatexenc may convert of one text (it takes ~0.3 ms an island, ~20 µs a character)."""

    def __init__(self) -> None:
        self.islands, self.chars = MAX_PARSED_ISLANDS, MAX_PARSED_CHARS

    def take(self, island: str) -> bool:
        self.islands -= 1
        self.chars -= len(island)
        return self.islands >= 0 and self.chars >= 0


def _closing_braces(text: str) -> dict[int, int]:
    """Where the brace group opened at each ``{`` ends (just past its ``}``), for balanced groups only."""
    closing: dict[int, int] = {}
    opened: list[int] = []
    escaped = -1  # the position of the character after a backslash (\{ is no brace)
    for m in _BRACE_RE.finditer(text):
        at = m.start()
        if at == escaped:
            continue
        if m[0] == "\\":
            escaped = at + 1
        elif m[0] == "{":
            opened.append(at)
        elif opened:
            closing[opened.pop()] = at + 1
    return closing


def _islands(text: str, closing: dict[int, int]) -> Iterator[tuple[int, int]]:
    """The (start, end) of each LaTeX construct of `text`, left to right; a stray ``$`` is an island of its own."""
    found = _START_RE.search(text)
    while found:
        i = found.start()
        end = _island_end(text, i, closing)
        if end > i:
            yield i, end
        found = _START_RE.search(text, max(end, i + 1))


def _island_end(text: str, i: int, closing: dict[int, int]) -> int:
    """The end of the island starting at `i`, or `i` when nothing there is LaTeX."""
    math = _MATH_RE.match(text, i)
    if math:
        return math.end()
    if text[i] == "$":
        return i if _PRICE_RE.match(text, i) else i + 1
    if text[i] == "{":
        return _group_end(i, closing) or i
    macro = _MACRO_RE.match(text, i)
    return _args_end(text, macro.end(), closing) if macro else i + 1


def _group_end(i: int, closing: dict[int, int]) -> int | None:
    end = closing.get(i)
    return end if end is not None and end - i <= MAX_ISLAND else None


def _args_end(text: str, at: int, closing: dict[int, int]) -> int:
    """Past the optional ``[...]`` and the brace groups that follow a macro name ending at `at`."""
    optional = _OPTIONAL_RE.match(text, at)
    if optional:
        at = optional.end()
    for _ in range(MAX_ARGS):
        end = _group_end(at, closing) if text.startswith("{", at) else None
        if end is None:
            break
        at = end
    return at


def _island_text(island: str, parse: bool) -> str:
    """An island as text: by pylatexenc when `parse`, else roughly. Small islands (most) are remembered."""
    return _small_island_text(island, parse) if len(island) <= CACHED_ISLAND else _convert(island, parse)


def _convert(island: str, parse: bool) -> str:
    if not parse or _depth(island) > MAX_DEPTH:
        return _rough_text(island)
    try:
        walker = latexwalker.LatexWalker(_BARE_PERCENT_RE.sub(r"\\%", island), latex_context=_WALKER_CONTEXT,
                                         tolerant_parsing=True)
        nodes, _, _ = walker.get_latex_nodes()
        return str(_TO_TEXT.nodelist_to_text(nodes))
    except Exception:  # pylatexenc on input it was not made for: read it roughly
        return _rough_text(island)


_small_island_text = lru_cache(maxsize=8192)(_convert)


def _depth(text: str) -> int:
    depth = deepest = 0
    for c in text:
        depth += (c == "{") - (c == "}")
        deepest = max(deepest, depth)
    return deepest


def _rough_text(island: str) -> str:
    """An island without pylatexenc: macros as their names, no braces or ``$``."""
    return _ROUGH_RE.sub(lambda m: m[1] or "", island)


def _href(n: Any, l2tobj: latex2text.LatexNodes2Text) -> str:
    """``\\href{url}{text}`` as ``text (url)``; ``url`` alone when that is all there is."""
    args = [a for a in (n.nodeargd.argnlist if n.nodeargd else []) if a is not None]
    url = _verbatim(args[0]) if args else ""
    text = l2tobj.nodelist_to_text([args[1]]).strip() if len(args) > 1 else ""
    return f"{text} ({url})" if text and url and text != url else text or url


def _url(n: Any) -> str:
    args = [a for a in (n.nodeargd.argnlist if n.nodeargd else []) if a is not None]
    return _verbatim(args[0]) if args else ""


def _verbatim(node: Any) -> str:
    """A URL argument as written (braces off, ``\\%`` back to ``%``)."""
    text = str(node.latex_verbatim())
    if node.isNodeType(latexwalker.LatexGroupNode):
        text = text[1:-1]
    return text.replace("\\%", "%")


def _unknown(n: Any) -> str:
    """A macro nobody defined (``\\system``, a placeholder for a name) reads as its name."""
    return f"{n.macroname}{n.macro_post_space}"


def _walker_context() -> macrospec.LatexContextDb:
    db = latexwalker.get_default_latex_context_db()
    db.add_context_category("arxiv-qa", prepend=True, macros=[
        macrospec.MacroSpec("href", "{{"), macrospec.MacroSpec("url", "{"),
    ])
    return db


def _text_context() -> macrospec.LatexContextDb:
    db = latex2text.get_default_latex_context_db()
    db.add_context_category("arxiv-qa", prepend=True, macros=[
        latex2text.MacroTextSpec("href", simplify_repl=_href),
        latex2text.MacroTextSpec("url", simplify_repl=_url),
        *(latex2text.MacroTextSpec(name, discard=True) for name in _DROPPED),
    ], environments=[])
    db.set_unknown_macro_spec(latex2text.MacroTextSpec("", simplify_repl=_unknown))
    return db


_WALKER_CONTEXT = _walker_context()
_TO_TEXT = latex2text.LatexNodes2Text(latex_context=_text_context(), math_mode="text")
