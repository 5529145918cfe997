"""BibTeX of papers in the store, in arXiv's own @misc form (eprint, archivePrefix, primaryClass).

Title and authors are what the store knows of a paper today: a source without a title gives the
paper's label (what its abstract introduces), one without authors gives no author field. A `doc:`
paper has no arXiv ID, so its entry has no eprint either; none is guessed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from qa.errors import BadInput, NotFound
from qa.index.store import Store
from qa.papers import NEW_ID_PATTERN, OLD_ID_PATTERN, Paper, paper_label

MAX_KEYS = 50
KEY_RE = re.compile(rf"(?:arxiv:)?(?P<id>{NEW_ID_PATTERN}|{OLD_ID_PATTERN})(?:v\d+)?|(?P<doc>doc:[0-9a-f]{{12}})",
                    re.IGNORECASE)
_SPECIAL = re.compile(r"([&%#_$])")


def parse_keys(text: str) -> list[str]:
    """Comma-separated paper keys as doc keys; BadInput naming the first that is none.

    >>> parse_keys("2505.09388, arXiv:2506.05176v2,doc:575304D32A8F")
    ['arXiv:2505.09388', 'arXiv:2506.05176', 'doc:575304d32a8f']
    """
    raw = [k.strip() for k in text.split(",") if k.strip()]
    if not raw:
        raise BadInput("keys: give at least one arXiv ID or doc: key, comma-separated")
    if len(raw) > MAX_KEYS:
        raise BadInput(f"keys: at most {MAX_KEYS} at a time")
    keys = []
    for key in raw:
        m = KEY_RE.fullmatch(key)
        if m is None:
            raise BadInput(f"keys: {key[:60]!r} is not an arXiv ID or doc: key")
        keys.append(f"arXiv:{m['id']}" if m["id"] else m["doc"].lower())
    return list(dict.fromkeys(keys))


def field_text(text: str) -> str:
    """`text` made safe inside a braced BibTeX field: one line, no braces, TeX specials escaped."""
    text = " ".join(text.replace("{", "").replace("}", "").replace("\\", "").split())
    return _SPECIAL.sub(r"\\\1", text)


def authors(names: str) -> str:
    """"A, B and C" (arXiv's listing) as BibTeX's "A and B and C"."""
    return " and ".join(n.strip() for n in re.split(r",|\band\b", names) if n.strip())


def entry(paper: Paper) -> str:
    """One @misc entry, its key the paper's arXiv ID (or doc: key)."""
    title = paper.title or paper_label(paper.abstract) or paper.doc_key
    fields = [("title", title)]
    if paper.authors:
        fields.append(("author", authors(paper.authors)))
    if paper.month:
        fields.append(("year", str(paper.month.year)))
    if paper.arxiv_id:
        fields += [("eprint", paper.arxiv_id), ("archivePrefix", "arXiv")]
        if paper.categories:
            fields.append(("primaryClass", paper.categories[0]))
        fields.append(("url", f"https://arxiv.org/abs/{paper.arxiv_id}"))
    else:
        fields.append(("note", "no arXiv ID known; cited by its content key"))
    body = ",\n".join(f"      {name}={{{field_text(value)}}}" for name, value in fields)
    return f"@misc{{{paper.arxiv_id or paper.doc_key},\n{body}\n}}"


def bibtex(store: Store, keys: Sequence[str]) -> str:
    """The entries of the papers `keys` name, in that order; NotFound naming those not in the store."""
    papers = {key: store.paper(key) for key in keys}
    missing = [key for key, paper in papers.items() if paper is None]
    if missing:
        raise NotFound(f"not in the store: {', '.join(missing)}")
    return "\n\n".join(entry(p) for p in papers.values() if p is not None) + "\n"
