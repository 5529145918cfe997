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


def check_citations(text: str, allowed: set[str]) -> Checked:
    """Remove every citation or arXiv ID in `text` that is not in `allowed` (doc keys of passages)."""
    cited: list[str] = []
    removed: list[str] = []

    def bracket(m: re.Match[str]) -> str:
        keep: list[str] = []
        for raw in KEY_RE.findall(m.group(1)):
            key = canonical(raw)
            (keep if key in allowed else removed).append(key)
        cited.extend(k for k in keep if k not in cited)
        return f"[{'; '.join(dict.fromkeys(keep))}]" if keep else ""

    text = BRACKET_RE.sub(bracket, text)

    def loose(m: re.Match[str]) -> str:
        key = f"arXiv:{m.group('id')}"
        if key in allowed:
            return m.group(0)
        removed.append(key)
        return "[unverified reference removed]"

    # Bare IDs outside the brackets just rewritten: protect the brackets, check the rest.
    parts = re.split(r"(\[[^\]]*\])", text)
    text = "".join(p if p.startswith("[") else LOOSE_ID_RE.sub(loose, p) for p in parts)
    text = re.sub(r"[ \t]+([.,;:])", r"\1", re.sub(r"[ \t]{2,}", " ", text)).strip()
    return Checked(text, cited, removed)


def key_url(key: str) -> str | None:
    """The arXiv page of a key (None for a doc: key: it has no arXiv ID)."""
    return arxiv_url(key.split(":", 1)[1]) if key.startswith("arXiv:") else None
