"""Variants that disagree: when copies of one abstract differ on the sentence an answer rests on
(CodeElo's "lowest 20 percent" vs "lowest 25 percent"), the answer says so and gives both."""

from __future__ import annotations

from difflib import SequenceMatcher

from qa.papers import Paper, normalize_text, split_sentences

SAME_SENTENCE = 0.6  # above this, two sentences are versions of each other


def counterparts(paper: Paper, sentence: str) -> list[str]:
    """The differing versions of `sentence` in the paper's other variants."""
    target = normalize_text(sentence)
    out: list[str] = []
    for variant in paper.variants:
        best, score = None, SAME_SENTENCE
        for other in split_sentences(variant.text):
            ratio = SequenceMatcher(None, target, normalize_text(other), autojunk=False).ratio()
            if ratio > score:
                best, score = other, ratio
        if best is not None and normalize_text(best) != target and best not in out:
            out.append(best)
    return out


def excerpts(a: str, b: str, context: int = 6) -> tuple[str, str]:
    """The words where `a` and `b` differ, with a few words around them, from each text."""
    wa, wb = a.split(), b.split()
    ops = [op for op in SequenceMatcher(None, wa, wb, autojunk=False).get_opcodes() if op[0] != "equal"]
    if not ops:
        return a, b
    i1, i2, j1, j2 = ops[0][1], ops[-1][2], ops[0][3], ops[-1][4]

    def cut(words: list[str], lo: int, hi: int) -> str:
        start, end = max(0, lo - context), min(len(words), hi + context)
        return ("\u2026" if start else "") + " ".join(words[start:end]) + ("\u2026" if end < len(words) else "")

    return cut(wa, i1, i2), cut(wb, j1, j2)


def disagreement_note(paper: Paper, sentence: str) -> str | None:
    """A sentence telling the reader that the sources disagree, quoting each version; None if they agree."""
    others = counterparts(paper, sentence)
    if not others:
        return None
    versions = [excerpts(sentence, other) for other in others]
    quoted = "; another says \u201c".join(f"{theirs}\u201d" for _, theirs in versions)
    return (f"The sources disagree here: one copy of this abstract says \u201c{versions[0][0]}\u201d, "
            f"another says \u201c{quoted} [{paper.doc_key}].")
