"""Citation checking as a pure function: what is kept, what is removed and counted."""

from __future__ import annotations

import re

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
        ("Yes [arXiv:2505.09388]. See arXiv:2401.00001 and https://arxiv.org/abs/2402.00002v1 for more.",
         "Yes [arXiv:2505.09388].", ["arXiv:2401.00001", "arXiv:2402.00002"], ["arXiv:2505.09388"]),
        ("arXiv:2401.00001 shows it [arXiv:2505.09388].", "[unverified reference removed] shows it [arXiv:2505.09388].",
         ["arXiv:2401.00001"], ["arXiv:2505.09388"]),
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


# A removed citation takes the words that only introduced it along: no "shown in and ." is left.
CLEAN_SENTENCES = [
    ("Qwen3 supports 119 languages [arXiv:2505.09388] as shown in arXiv:2401.99999 and "
     "[arXiv:2402.00001; doc:0123456789ab].", "Qwen3 supports 119 languages [arXiv:2505.09388]."),
    ("According to [arXiv:2401.00001], Qwen3 supports 119 languages [arXiv:2505.09388].",
     "Qwen3 supports 119 languages [arXiv:2505.09388]."),
    ("As reported by arXiv:2401.00001 and arXiv:2402.00002, it holds [arXiv:2505.09388].",
     "It holds [arXiv:2505.09388]."),
    ("In arXiv:2401.00001, the authors show it [arXiv:2505.09388].", "The authors show it [arXiv:2505.09388]."),
    ("Qwen3 supports 119 languages (see arXiv:2401.00001) [arXiv:2505.09388].",
     "Qwen3 supports 119 languages [arXiv:2505.09388]."),
    ("It is big [arXiv:2505.09388] (arXiv:2401.00001).", "It is big [arXiv:2505.09388]."),
    ("It is multilingual [arXiv:2401.00001], and it is large [arXiv:2505.09388].",
     "It is multilingual, and it is large [arXiv:2505.09388]."),
    ("Results from [arXiv:2401.00001] and [arXiv:2402.00002] agree [arXiv:2505.09388].",
     "Results agree [arXiv:2505.09388]."),
    ("Both [arXiv:2505.09388] and [arXiv:2401.00001] report it.", "Both [arXiv:2505.09388] report it."),
    ("It holds [arXiv:2505.09388]; cf. [arXiv:2401.00001].", "It holds [arXiv:2505.09388]."),
    ("It holds [doc:73d486c3a6a6]. For details, see [arXiv:2401.00001]. It is open.",
     "It holds [doc:73d486c3a6a6]. It is open."),
    ("X is true [arXiv:2401.00001; arXiv:2402.00002] and Y is false [arXiv:2505.09388].",
     "X is true and Y is false [arXiv:2505.09388]."),
]


@pytest.mark.parametrize(("text", "clean"), CLEAN_SENTENCES)
def test_removed_citation_leaves_no_fragment(text: str, clean: str) -> None:
    checked = check_citations(text, ALLOWED)
    assert checked.text == clean and checked.removed
    assert not re.search(r"\b(?:in|and|or|by|see|to)\s*[.,;]|\s[.,;]|\(\s*\)|[\x00\x01]", checked.text)


def test_text_without_removals_is_left_as_written() -> None:
    text = "Both [arXiv:2505.09388] and [doc:73d486c3a6a6] report it, as shown in and around Table 2."
    assert check_citations(text, ALLOWED).text == text
