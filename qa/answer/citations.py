"""Citations as data: find the keys an answer cites, strip those that name no retrieved passage.

An answer cites ``[arXiv:2505.09388]`` or ``[doc:1a2b3c4d5e6f]``. Anything else that looks like an
arXiv ID in the text (bare, in parentheses, as a URL) is checked too: if it is not the ID of a
retrieved passage it is removed and counted, so no invented ID ever reaches the user.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qa.papers import NEW_ID_PATTERN, OLD_ID_PATTERN, arxiv_url

# One bracket may hold several keys: [arXiv:2505.09388; doc:1a2b3c4d5e6f]
_KEY = rf"(?:arXiv:\s*(?:{NEW_ID_PATTERN}|{OLD_ID_PATTERN})(?:v\d+)?|doc:[0-9a-f]{{12}})"
BRACKET_RE = re.compile(rf"\[\s*({_KEY}(?:\s*[;,]\s*{_KEY})*)\s*\]", re.IGNORECASE)
KEY_RE = re.compile(_KEY, re.IGNORECASE)
# IDs outside brackets: "arXiv:2501.00001", "(2501.00001)", "arxiv.org/abs/2501.00001"
LOOSE_ID_RE = re.compile(
    rf"(?:https?://)?(?:www\.)?(?:arxiv\.org/(?:abs|pdf)/|arXiv:\s*|\b)(?P<id>{NEW_ID_PATTERN})(?:v\d+)?\b",
    re.IGNORECASE,
)


def canonical(key: str) -> str:
    """``arxiv: 2505.09388v2`` -> ``arXiv:2505.09388``; doc keys lower-cased."""
    key = key.strip()
    if key.lower().startswith("doc:"):
        return key.lower()
    ident = re.sub(r"v\d+$", "", key.split(":", 1)[1].strip())
    return f"arXiv:{ident}"


@dataclass
class Checked:
    """An answer text after checking: the valid keys in order of first citation, and what was removed."""

    text: str
    cited: list[str]
    removed: list[str]


# Where a removed citation stood: DROP (a bracket, removed silently) or MARK (a bare ID, shown as removed).
DROP, MARK = "\x00", "\x01"
MARKER = "[unverified reference removed]"
_GONE = f"[{DROP}{MARK}]"
_JOIN = r"\s*(?:,|;|&|\band\b|\bor\b)\s*"
_GONE_LIST_RE = re.compile(rf"{_GONE}(?:{_JOIN}{_GONE})+")
_KEPT_AND_GONE_RE = re.compile(rf"(\[[^\]]*\]){_JOIN}{_GONE}|{_GONE}{_JOIN}(\[[^\]]*\])")
_LEAD = (r"(?:as (?:shown|reported|described|discussed|noted|found|demonstrated|seen|stated|proposed|presented)"
         r" (?:in|by)|according to|following|see(?: also)?|cf\.|e\.g\.,?|per|in|by|from)")
# "See X for details." says nothing once X is gone: the whole sentence goes.
_POINTER_RE = re.compile(
    rf"(?:^|(?<=[.!?])\s+)(?:for (?:more )?details,? )?(?:see(?: also)?|cf\.)\s+{_GONE}[^.!?]*[.!?]?", re.IGNORECASE)
_PAREN_RE = re.compile(rf"\s*\(\s*(?:{_LEAD}\s+)?{_GONE}\s*\)", re.IGNORECASE)
_OPENING_RE = re.compile(rf"(^|[.!?]\s+){_LEAD}\s+{_GONE}\s*,\s*(\w)", re.IGNORECASE)
_LEAD_RE = re.compile(rf"(?:\s*[,;])?\s*\b{_LEAD}\s+{_GONE}", re.IGNORECASE)
_DANGLING_RE = re.compile(r"(?:\s*[,;])?\s+(?:and|or)(?=\s*(?:[.,;:!?]|$))|[,;](?=\s*[.!?])")


def check_citations(text: str, allowed: set[str]) -> Checked:
    """Remove every citation or arXiv ID in `text` that is not in `allowed` (doc keys of passages).

    The words that only introduced a removed citation go with it ("as shown in", "see", a list of
    removed keys joined by "and"), so no sentence is left with a fragment.
    """
    cited: list[str] = []
    removed: list[str] = []

    def bracket(m: re.Match[str]) -> str:
        keep: list[str] = []
        for raw in KEY_RE.findall(m.group(1)):
            key = canonical(raw)
            (keep if key in allowed else removed).append(key)
        cited.extend(k for k in keep if k not in cited)
        return f"[{'; '.join(dict.fromkeys(keep))}]" if keep else DROP

    text = BRACKET_RE.sub(bracket, text.replace(DROP, "").replace(MARK, ""))

    def loose(m: re.Match[str]) -> str:
        key = f"arXiv:{m.group('id')}"
        if key in allowed:
            return m.group(0)
        removed.append(key)
        return MARK

    # Bare IDs outside the brackets just rewritten: protect the brackets, check the rest.
    parts = re.split(r"(\[[^\]]*\])", text)
    text = "".join(p if p.startswith("[") else LOOSE_ID_RE.sub(loose, p) for p in parts)
    if removed:
        text = tidy(text)
    text = re.sub(r"[ \t]+([.,;:])", r"\1", re.sub(r"[ \t]{2,}", " ", text)).strip()
    return Checked(text, cited, removed)


def tidy(text: str) -> str:
    """The text with each removed citation (DROP/MARK) taken out with the words that led to it."""
    text = _GONE_LIST_RE.sub(lambda m: MARK if MARK in m.group(0) else DROP, text)
    text = _KEPT_AND_GONE_RE.sub(lambda m: m.group(1) or m.group(2), text)
    text = _POINTER_RE.sub("", text)
    text = _PAREN_RE.sub("", text)
    text = _OPENING_RE.sub(lambda m: m.group(1) + m.group(2).upper(), text)
    text = _LEAD_RE.sub("", text)
    text = text.replace(MARK, MARKER).replace(DROP, "")
    return _DANGLING_RE.sub("", text)


def key_url(key: str) -> str | None:
    """The arXiv page of a key (None for a doc: key: it has no arXiv ID)."""
    return arxiv_url(key.split(":", 1)[1]) if key.startswith("arXiv:") else None
