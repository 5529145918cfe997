"""The papers the arXiv stand-ins serve (tests/fakes/arxiv_server.py): real titles, authors and dates.

Qwen2.5's abstract is the one the bundled corpus holds without an arXiv ID, so fetching it shows a
paper taking its ID.
"""

from __future__ import annotations

from qa.ingest import bundled_corpus
from qa.ingest.merge import cleaned
from qa.ingest.sources import read_papers
from tests.fakes.arxiv_server import FakePaper

QWEN25_KEY = "doc:73d486c3a6a6"  # the bundled corpus's Qwen2.5 report, which no file gives an ID


def corpus_abstract(key: str) -> str:
    for path in sorted(bundled_corpus().iterdir()):
        for record in read_papers(path):
            if record.doc_key == key:
                return cleaned(record).abstract
    raise LookupError(key)


def papers() -> list[FakePaper]:
    return [
        FakePaper("2505.09388", "Qwen3 Technical Report",
                  "In this work, we present Qwen3, the latest version of the Qwen model family. Qwen3 comprises "
                  "a series of large language models (LLMs) designed to advance performance, efficiency, and "
                  "multilingual capabilities. Compared to its predecessor Qwen2.5, Qwen3 expands multilingual "
                  "support from 29 to 119 languages and dialects.",
                  ["An Yang", "Anfeng Li", "Baosong Yang", "Junyang Lin"], ["cs.CL", "cs.AI"],
                  "2025-05-14", "2025-05-14", datestamp="2025-05-15"),
        FakePaper("2412.15115", "Qwen2.5 Technical Report", corpus_abstract(QWEN25_KEY),
                  ["Qwen", "An Yang", "Baosong Yang", "Junyang Lin"], ["cs.CL"], "2024-12-19", "2025-01-03",
                  versions=2, comment="v2: typos fixed", datestamp="2025-01-04"),
        FakePaper("2506.05176", "Qwen3 Embedding: Advancing Text Embedding and Reranking Through Foundation Models",
                  "In this work, we introduce the Qwen3 Embedding series, a significant advancement over its "
                  "predecessor, the GTE-Qwen series, in text embedding and reranking capabilities. The series "
                  "offers model sizes of 0.6B, 4B and 8B for both embedding and reranking tasks.",
                  ["Yanzhao Zhang", "Mingxin Li", "Junyang Lin"], ["cs.CL"], "2025-06-05", "2025-06-11", versions=3),
        FakePaper("2503.09852", "StyleSpeaker: Audio-Enhanced Fine-Grained Style Modeling for Speech-Driven 3D "
                  "Facial Animation",
                  "Speech-driven 3D facial animation is challenging due to the diversity in speaking styles. "
                  "StyleSpeaker models fine-grained speaking styles and drives realistic facial animation from audio.",
                  ["An Wang", "Chenglong Li"], ["cs.CV", "cs.SD"], "2025-03-12", "2025-03-12",
                  doi="10.1109/ICASSP.2025.0001", journal_ref="ICASSP 2025"),
        FakePaper("2501.00001", "Mixing Times of Random Walks on Expander Graphs",
                  "We prove a sharp bound on the mixing time of lazy random walks on expander graphs and show "
                  "that the bound is attained by Ramanujan graphs.",
                  ["Ada Collins"], ["math.PR", "math.CO"], "2025-01-01", "2025-01-01", datestamp="2025-01-02"),
    ]
