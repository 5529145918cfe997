"""Citation checking as a pure function: what is kept, what is removed and counted."""

from __future__ import annotations

import pytest

from qa.answer.citations import canonical, check_citations

ALLOWED = {"arXiv:2505.09388", "doc:73d486c3a6a6"}


@pytest.mark.parametrize(
    ("text", "kept", "removed", "cited"),
    [
        ("A [arXiv:2505.09388].", "A [arXiv:2505.09388].", [], ["arXiv:2505.09388"]),
        ("A [arxiv: 2505.09388v3].", "A [arXiv:2505.09388].", [], ["arXiv:2505.09388"]),
        ("A [arXiv:2401.00001].", "A.", ["arXiv:2401.00001"], []),
        ("A [arXiv:2505.09388; arXiv:2401.00001, doc:73d486c3a6a6].",
         "A [arXiv:2505.09388; doc:73d486c3a6a6].", ["arXiv:2401.00001"], ["arXiv:2505.09388", "doc:73d486c3a6a6"]),
        ("See arXiv:2401.00001 and https://arxiv.org/abs/2402.00002v1 for more.",
         "See [unverified reference removed] and [unverified reference removed] for more.",
         ["arXiv:2401.00001", "arXiv:2402.00002"], []),
        ("Per 2505.09388, yes [doc:73d486c3a6a6].", "Per 2505.09388, yes [doc:73d486c3a6a6].", [],
         ["doc:73d486c3a6a6"]),
        ("Made up [doc:ffffffffffff].", "Made up.", ["doc:ffffffffffff"], []),
        ("Version 2.5 scores 84.2 [arXiv:2505.09388]", "Version 2.5 scores 84.2 [arXiv:2505.09388]", [],
         ["arXiv:2505.09388"]),
    ],
)
def test_check_citations(text: str, kept: str, removed: list[str], cited: list[str]) -> None:
    checked = check_citations(text, ALLOWED)
    assert (checked.text, checked.removed, checked.cited) == (kept, removed, cited)


def test_canonical() -> None:
    assert canonical("ARXIV:2505.09388v2") == "arXiv:2505.09388"
    assert canonical("doc:73D486C3A6A6") == "doc:73d486c3a6a6"
