"""LaTeX made plain text at ingest (`qa.ingest.latex.to_text`): the conversions abstracts need, plain text untouched,
hostile input never raising and taking bounded time."""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa.ingest.latex import to_text

LATEX_RE = re.compile(r"\\[a-zA-Z]+|\$")


@pytest.mark.parametrize(("latex", "text"), [
    (r"up to $38\times$ speedup and $5\times$ for general cases",
     "up to 38\u00d7 speedup and 5\u00d7 for general cases"),
    (r"can use up to 22$\times$ less memory", "can use up to 22\u00d7 less memory"),
    (r"accuracy from 55.1$\%$ to 91.5$\%$.", "accuracy from 55.1% to 91.5%."),
    (r"scaling the parameters by $O(\log P)$ with $P$ streams", "scaling the parameters by O(log P) with P streams"),
    (r"we introduce \textbf{MARGE}: Improving \textbf{Ma}th \textbf{R}easoning with \textbf{G}uided "
     r"\textbf{E}xploration", "we introduce MARGE: Improving Math Reasoning with Guided Exploration"),
    (r"a \textbf{user-centric} benchmark", "a user-centric benchmark"),
    (r"available at \href{https://github.com/a/b}{this link}.", "available at this link (https://github.com/a/b)."),
    (r"release $\href{https://huggingface.co/x/y}{models}$ too", "release models (https://huggingface.co/x/y) too"),
    (r"Code is at \url{https://github.com/QwenLM/Qwen2-VL}.", "Code is at https://github.com/QwenLM/Qwen2-VL."),
    (r"\url{https://x.org/a_b%20c~d}", "https://x.org/a_b%20c~d"),
    (r"We propose World Preference Modeling$ (WorldPM) to emphasize", "We propose World Preference Modeling (WorldPM) "
     "to emphasize"),
    (r"a toolkit, \system, that works. In tests, \system is fast", "a toolkit, system, that works. In tests, system "
     "is fast"),
    (r"Schr\"odinger and Poincar\'{e} on $\alpha$-decay", "Schrödinger and Poincaré on \u03b1-decay"),
    (r"{\em emphasised} text \cite{ref} and $\frac{1}{2}$", "emphasised text and 1/2"),
    (r"\(a+b\) and $$\sum_i x_i$$", "a+b and ∑_i x_i"),
    (r"costs $5 and $10, with $x$ here", "costs $5 and $10, with x here"),
    (r"50% of runs, ~3x faster, 3$\times$ here", "50% of runs, ~3x faster, 3\u00d7 here"),
])
def test_conversions(latex: str, text: str) -> None:
    assert to_text(latex) == text


@pytest.mark.parametrize("plain", ["Plain text, 50% of it ~ {braces} & more.", "  spaces\n kept ", "", "数据 ü"])
def test_plain_text_comes_back_unchanged(plain: str) -> None:
    assert to_text(plain) is plain


def test_no_latex_command_is_left_in_the_bundled_corpus() -> None:
    from qa.ingest import bundled_corpus
    from qa.ingest.sources import read_papers

    abstracts = [r.abstract for path in sorted(bundled_corpus().glob("*.txt")) for r in read_papers(path)]
    assert any(LATEX_RE.search(a) for a in abstracts)
    assert [t for t in map(to_text, abstracts) if LATEX_RE.search(t)] == []


LATEX_BITS = st.sampled_from(r"\textbf{ \href{ \url{ } { $ $$ \( \) \[ \] \times \% % ~ \\ \ \system \begin{x} "
                             r"\end{x} \"o \' \verb|x| _ ^ & # \frac{1}{2} \sqrt[3]{ [ ] x 5 \x00 ü".split(" "))


@pytest.mark.slow
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(LATEX_BITS, st.text(max_size=5)), max_size=80).map("".join))
def test_hostile_input_never_raises(text: str) -> None:
    out = to_text(text)
    assert isinstance(out, str)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400))
def test_random_text_never_raises(text: str) -> None:
    assert isinstance(to_text(text), str)


@pytest.mark.parametrize("huge", [
    "{" * 100_000, "{" * 5000 + "x" + "}" * 5000, r"\textbf{" * 20_000, "$" * 100_000, "\\" * 100_000,
    r"\[" * 50_000, "\\(" + "a" * 100_000, "".join(f"\\m{i:x} " for i in range(15_000)), "$a$" * 30_000,
    r"We get $5\times$ speedup with \textbf{Foo} and \href{http://a}{b}. " * 1500, "\\'" * 50_000,
])
def test_huge_or_odd_input_takes_bounded_time(huge: str) -> None:
    start = time.perf_counter()
    to_text(huge)
    assert time.perf_counter() - start < 5
