"""Merging records into papers: IDs recovered from other copies, variants kept, nothing guessed."""

from __future__ import annotations

import random

from qa.ingest.merge import band_keys, cleaned, merge_papers, similarity
from qa.papers import Paper, Source, text_key

TEXT = ("With the increasing code reasoning capabilities of existing large language models, we introduce a "
        "benchmark of competition-level code generation. Models are rated like human participants and the "
        "best model only reaches the lowest 20 percent among all human participants. We release the code.")
EDITED = TEXT.replace("lowest 20 percent", "lowest 25 percent")
OTHER = ("Tensor permutation is a fundamental operation widely applied in AI and tensor networks. We propose "
         "a SIMD permutation toolkit that generates optimized permutation code for arbitrary instruction sets.")


def rec(text: str, file: str, pos: int, arxiv_id: str | None = None) -> Paper:
    return Paper(abstract=text, arxiv_id=arxiv_id, sources=[Source(file, pos)])


def test_same_id_in_several_files_is_one_paper_with_all_sources() -> None:
    (paper,) = merge_papers([rec(TEXT, "a.txt", 1, "2501.01257"), rec(TEXT, "b.txt", 4, "2501.01257")])
    assert paper.doc_key == "arXiv:2501.01257"
    assert paper.sources == [Source("a.txt", 1), Source("b.txt", 4)]
    assert len(paper.variants) == 1


def test_copy_without_id_takes_the_id_of_its_identified_copy_in_either_order() -> None:
    records = [rec(TEXT.upper().replace(". ", ".  "), "b.txt", 2), rec(TEXT, "a.txt", 1, "2501.01257")]
    for order in (records, records[::-1]):
        (paper,) = merge_papers(order)
        assert paper.arxiv_id == "2501.01257"
        assert len(paper.variants) == 1  # case and spacing are not a different text


def test_small_edit_is_a_variant_of_the_same_paper_not_an_overwrite() -> None:
    (paper,) = merge_papers([rec(EDITED, "b.txt", 6), rec(TEXT, "a.txt", 9, "2501.01257")])
    assert paper.arxiv_id == "2501.01257"
    assert [v.text for v in paper.variants] == [TEXT, EDITED]  # primary: the earliest source's text
    assert paper.variants[1].sources == [Source("b.txt", 6)]


def test_unrelated_abstracts_stay_apart_and_ids_are_never_guessed() -> None:
    papers = merge_papers([rec(TEXT, "a.txt", 1, "2501.01257"), rec(OTHER, "b.txt", 1)])
    assert {p.doc_key for p in papers} == {"arXiv:2501.01257", text_key(OTHER)}
    assert similarity(TEXT, OTHER) < 0.5


def test_two_ids_with_equal_text_are_two_papers() -> None:
    papers = merge_papers([rec(TEXT, "a.txt", 1, "2501.01257"), rec(TEXT, "b.txt", 1, "2501.09999")])
    assert {p.arxiv_id for p in papers} == {"2501.01257", "2501.09999"}


def test_no_id_key_is_stable_and_content_derived() -> None:
    (paper,) = merge_papers([rec(OTHER, "b.txt", 3)])
    assert paper.doc_key == text_key(OTHER) == text_key(OTHER.lower())
    assert paper.doc_key.startswith("doc:") and len(paper.doc_key) == 16


def test_merge_is_order_independent() -> None:
    records = [rec(TEXT, "a.txt", 1, "2501.01257"), rec(EDITED, "b.txt", 2), rec(OTHER, "b.txt", 3),
               rec(OTHER, "c.txt", 1, "2506.03686"), rec(TEXT, "c.txt", 2)]
    expected = merge_papers(records)
    for seed in range(5):
        shuffled = records[:]
        random.Random(seed).shuffle(shuffled)
        assert merge_papers(shuffled) == expected


def test_band_keys_are_stable_and_shared_by_near_copies() -> None:
    assert band_keys(TEXT) == band_keys(TEXT)
    shared = set(band_keys(TEXT)) & set(band_keys(EDITED))
    assert len(shared) >= 2 and not set(band_keys(TEXT)) & set(band_keys(OTHER))


LONGER = OTHER + (" Experiments on many instruction sets and permutation patterns show that the generated code is "
                  "fast, simple and portable across hardware vendors and compilers.")
LATEX = LONGER.replace("a SIMD permutation toolkit", r"a \textbf{SIMD} permutation toolkit, $\system$,")
PLAIN = LONGER.replace("a SIMD permutation toolkit", "a SIMD permutation toolkit, system,")


def test_a_record_is_cleaned_and_keeps_its_original_and_doc_key() -> None:
    record = cleaned(rec(LATEX, "a.txt", 1))
    assert (record.abstract, record.abstract_raw) == (PLAIN, LATEX)
    assert record.doc_key == text_key(LATEX) != text_key(PLAIN)
    assert cleaned(record) == record
    plain = rec(OTHER, "a.txt", 1)
    assert cleaned(plain) == plain and cleaned(plain).abstract_raw is None
    blank = rec("$$", "a.txt", 1)
    assert cleaned(blank) == blank  # a text that would come out blank stays as it was


def test_texts_differing_only_in_latex_are_one_variant_keyed_by_the_earliest_original() -> None:
    records = [cleaned(rec(LATEX, "b.txt", 1)), cleaned(rec(PLAIN, "a.txt", 1))]
    for order in (records, records[::-1]):
        (paper,) = merge_papers(order)
        assert len(paper.variants) == 1 and paper.sources == [Source("a.txt", 1), Source("b.txt", 1)]
        assert paper.abstract_raw is None and paper.doc_key == text_key(PLAIN)  # a.txt's text was plain
    (paper,) = merge_papers([cleaned(rec(LATEX, "a.txt", 1)), cleaned(rec(PLAIN, "b.txt", 1))])
    assert paper.abstract == PLAIN and paper.abstract_raw == LATEX and paper.doc_key == text_key(LATEX)


def test_cleaning_a_stored_paper_is_cleaning_its_records() -> None:
    records = [rec(LATEX, "a.txt", 1), rec(PLAIN, "b.txt", 2), rec(TEXT.replace("20 percent", r"20$\%$"), "c.txt", 1,
               "2501.01257"), rec(TEXT, "d.txt", 1)]
    stored = merge_papers(records)  # as a store made before cleaning holds them
    assert len(stored) == 2 and all(len(p.variants) == 2 for p in stored)
    upgraded = sorted(map(cleaned, stored), key=lambda p: p.doc_key)
    assert upgraded == merge_papers(map(cleaned, records))
    assert [p.doc_key for p in upgraded] == [p.doc_key for p in stored]
