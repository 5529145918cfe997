"""BibTeX entries of papers: arXiv's @misc form, what the store knows and nothing guessed."""

from __future__ import annotations

from datetime import date

import pytest

from qa.errors import BadInput
from qa.index.bibtex import authors, entry, field_text, parse_keys
from qa.papers import Paper


def test_entry_of_a_paper_with_full_metadata() -> None:
    paper = Paper("We study X.", "2505.09388", "Qwen3 {Technical} Report", created=date(2025, 5, 14),
                  categories=["cs.CL", "cs.AI"], authors="An Yang, Baosong Yang and Beichen Zhang")
    assert entry(paper) == (
        "@misc{2505.09388,\n"
        "      title={Qwen3 Technical Report},\n"
        "      author={An Yang and Baosong Yang and Beichen Zhang},\n"
        "      year={2025},\n"
        "      eprint={2505.09388},\n"
        "      archivePrefix={arXiv},\n"
        "      primaryClass={cs.CL},\n"
        "      url={https://arxiv.org/abs/2505.09388}\n"
        "}")


def test_entry_without_an_id_or_title_guesses_neither() -> None:
    paper = Paper("We introduce PolyMath, a benchmark of 9,000 problems in 18 languages.")
    text = entry(paper)
    assert text.startswith(f"@misc{{{paper.doc_key},") and "title={PolyMath}" in text
    assert "eprint" not in text and "primaryClass" not in text and "author" not in text and "year" not in text


def test_field_text_escapes_tex_and_keeps_one_line() -> None:
    assert field_text("50% of R&D_x {a}\n\\emph b #1") == r"50\% of R\&D\_x a emph b \#1"
    assert authors("A. B, C and D E") == "A. B and C and D E"


@pytest.mark.parametrize(("text", "message"), [
    ("", "at least one"), ("2505.093", "is not an arXiv ID"), ("doc:12", "is not an arXiv ID"),
    ("2505.09388;2506.05176", "is not an arXiv ID"), ("arXiv:", "is not an arXiv ID"),
])
def test_bad_keys(text: str, message: str) -> None:
    with pytest.raises(BadInput, match=message):
        parse_keys(text)


def test_old_style_ids_and_duplicates() -> None:
    assert parse_keys("hep-th/9901001v2, arXiv:hep-th/9901001") == ["arXiv:hep-th/9901001"]
