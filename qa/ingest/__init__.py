"""Ingest: source files in, merged papers out, chunked and embedded into the index (docs/ARCHITECTURE.md).

`sources` reads the formats, `merge` folds the records of one paper together, `latex` makes their
LaTeX text, `chunks` cuts abstracts into passages, `embed` loads the model; `pipeline` runs them
against a store's writer. `ingest`, `IngestReport` and `bundled_corpus` are re-exported from
`pipeline`, loaded on first use: a module that needs only `qa.ingest.merge` does not load the rest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qa.ingest.pipeline import IngestReport, bundled_corpus, ingest

__all__ = ["IngestReport", "bundled_corpus", "ingest"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from qa.ingest import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
