"""The ONNX model (`qa.ingest.onnx_embed.OnnxEncoder`) as a LlamaIndex embedding model, for ingest and the baselines."""

from __future__ import annotations

from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr

from qa.ingest.onnx_embed import OnnxEncoder


class OnnxEmbedding(BaseEmbedding):
    """A LlamaIndex embedding model running a sentence-transformers model on ONNX Runtime."""

    _encoder: OnnxEncoder = PrivateAttr()

    def __init__(self, encoder: OnnxEncoder) -> None:
        super().__init__(model_name=encoder.model_name, embed_batch_size=encoder.embed_batch_size)
        self._encoder = encoder

    @property
    def encoder(self) -> OnnxEncoder:
        return self._encoder

    def get_text_embedding_batch(self, texts: list[str], show_progress: bool = False,
                                 **kwargs: Any) -> list[list[float]]:
        """All texts in one call to the encoder, which sorts them by length before batching.

        The base class would first cut them into batches in input order, and sorting within a batch
        cannot reduce its padding.
        """
        return self._encoder.get_text_embedding_batch(texts)

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._encoder.get_query_embedding(query)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._encoder.get_query_embedding(text)

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._encoder.get_text_embedding_batch(texts)
