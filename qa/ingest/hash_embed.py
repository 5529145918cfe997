"""The `hash` embedder: vectors without a model, for tests and for trying the pipeline in a second.

`ARXIV_QA_EMBED_MODEL=hash` replaces the embedding model by the hashing trick: a text's lowercased
words are counted, each word adds its count (with a sign) to one of `DIM` dimensions picked by its
BLAKE2b hash, and the sum is scaled to unit length. The same text gives the same vector in every
process and on every machine; nothing is loaded, so a command starts and embeds at once.

Texts that share words are near each other, so dense search finds the passages sharing a question's
words, and nothing more: no synonyms, no meaning. Use it where *some* embedding is needed (parsing,
merging, stores, locks, front-ends), never for figures about retrieval or answer quality. Chunks are
still cut by the bundled model's tokenizer (`qa.ingest.embed.model_location`), so a store's chunks
are the same with either. The store records which model embedded it and refuses to be opened with
another one (`qa.index.store.Store`).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from functools import lru_cache
from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding

from qa.ingest.embed import HASH

DIM = 384  # as many dimensions as the bundled all-MiniLM-L6-v2
WORD = re.compile(r"\w+")


@lru_cache(maxsize=65536)
def _slot(word: str) -> tuple[int, float]:
    """The dimension a word adds to, and the sign it adds with."""
    digest = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "big")
    return digest % DIM, (1.0 if digest >> 63 else -1.0)


def hash_vector(text: str) -> list[float]:
    """The unit vector of `text`: its hashed bag of lowercased words (a text without words: the first axis)."""
    vector = [0.0] * DIM
    for word, count in Counter(WORD.findall(text.lower())).items():
        slot, sign = _slot(word)
        vector[slot] += sign * count
    norm = math.sqrt(sum(x * x for x in vector))
    if norm == 0:
        vector[0] = 1.0
        return vector
    return [x / norm for x in vector]


class HashEmbedding(BaseEmbedding):
    """A LlamaIndex embedding model giving `hash_vector` of each text (and of each query)."""

    def __init__(self, batch_size: int = 32, **kwargs: Any) -> None:
        super().__init__(model_name=HASH, embed_batch_size=batch_size, **kwargs)

    def _get_query_embedding(self, query: str) -> list[float]:
        return hash_vector(query)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return hash_vector(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return hash_vector(text)

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return [hash_vector(t) for t in texts]
