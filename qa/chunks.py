"""Chunking: a paper's abstract cut into pieces that fit the embedding model's 256-token window.

LlamaIndex's `SentenceSplitter` does the cutting, counting tokens with the embedding model's own
tokenizer, so the limit holds in the unit the model truncates by.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from qa.embed import Tokenizer
from qa.papers import Chunk, Paper, id_month


class Chunker:
    """Cuts papers into `Chunk`s of at most `max_tokens` model tokens."""

    def __init__(self, tokenizer: Tokenizer, max_tokens: int, overlap: int) -> None:
        from llama_index.core.node_parser import SentenceSplitter  # loaded only to ingest

        self.count_tokens = tokenizer
        self.splitter = SentenceSplitter(
            chunk_size=max_tokens, chunk_overlap=min(overlap, max_tokens // 4), tokenizer=tokenizer
        )

    def chunks(self, paper: Paper) -> list[Chunk]:
        """The chunks of one paper, with stable IDs derived from the key and the text."""
        key = paper.doc_key
        source = Path(paper.sources[0].file).name if paper.sources else ""
        created = paper.created or id_month(paper.arxiv_id)
        out = []
        for i, text in enumerate(self.splitter.split_text(paper.abstract)):
            digest = hashlib.sha1(text.encode()).hexdigest()[:10]
            out.append(Chunk(f"{key}#{i}:{digest}", key, text, paper.arxiv_id, created, paper.title, source, i))
        return out


def signature(chunks: list[Chunk]) -> str:
    """``<texts>:<metadata>`` digests of a paper's chunks: equal texts mean nothing to re-embed."""
    texts, meta = hashlib.sha1(), hashlib.sha1()
    for c in chunks:
        texts.update(repr((c.chunk_id, c.text)).encode())
        meta.update(repr(sorted(c.metadata().items())).encode())
    return f"{texts.hexdigest()[:16]}:{meta.hexdigest()[:16]}"
