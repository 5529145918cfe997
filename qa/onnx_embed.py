"""The fast embedding stage: the sentence-transformers model run by ONNX Runtime, int8-quantised.

On a small CPU, torch fp32 embeds all-MiniLM-L6-v2 at about 24 abstracts/s. The same weights
exported to ONNX and dynamically quantised to int8, fed length-sorted batches, are several times
faster with the same retrieval quality (see eval/bench/BENCHMARKS.md). The export runs once per
model, from the local weights, into the model cache; nothing is downloaded.

The pipeline is sentence-transformers' own: word pieces (truncated to the model's window), the
transformer, mean pooling over the attention mask, L2 normalisation.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr

INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def _max_length(model_dir: Path, default: int = 256) -> int:
    config = model_dir / "sentence_bert_config.json"
    if config.is_file():
        return int(json.loads(config.read_text()).get("max_seq_length", default))
    return default


def export(model_dir: Path, target: Path, quantize: bool) -> Path:
    """Write the ONNX graph of the transformer at `model_dir` to `target` (int8 if `quantize`)."""
    import torch
    from transformers import AutoModel

    target.parent.mkdir(parents=True, exist_ok=True)
    fp32 = target.with_name(target.stem + ".fp32.tmp.onnx")
    model = AutoModel.from_pretrained(str(model_dir)).eval()

    class Transformer(torch.nn.Module):
        """The model with plain tensor inputs and its last hidden state as the one output."""

        def __init__(self) -> None:
            super().__init__()
            self.inner = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.inner(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    dummy = tuple(torch.ones(1, 8, dtype=torch.long) for _ in INPUTS)
    dynamic = {name: {0: "batch", 1: "sequence"} for name in (*INPUTS, "last_hidden_state")}
    with torch.no_grad():
        torch.onnx.export(Transformer(), dummy, str(fp32), input_names=list(INPUTS),
                          output_names=["last_hidden_state"], dynamic_axes=dynamic, opset_version=17, dynamo=False)
    tmp = target.with_name(target.stem + ".tmp.onnx")
    if quantize:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        # Per-channel scales keep int8 vectors within cosine 0.99 of fp32 (per-tensor: 0.93).
        quantize_dynamic(str(fp32), str(tmp), weight_type=QuantType.QInt8, per_channel=True)
        fp32.unlink()
    else:
        fp32.replace(tmp)
    tmp.replace(target)  # atomic: a half-written model is never picked up
    return target


class OnnxEmbedding(BaseEmbedding):
    """A LlamaIndex embedding model running a sentence-transformers model on ONNX Runtime."""

    _session: Any = PrivateAttr()
    _tokenizer: Any = PrivateAttr()

    def __init__(self, model_dir: Path, onnx_path: Path, batch_size: int = 32, threads: int | None = None) -> None:
        super().__init__(model_name=f"{model_dir.name}:{onnx_path.name}", embed_batch_size=batch_size)
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        tokenizer.enable_truncation(_max_length(model_dir))
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self._tokenizer = tokenizer

    def _run(self, texts: Sequence[str]) -> np.ndarray:
        encoded = self._tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden: np.ndarray = np.asarray(self._session.run(None, feed)[0], dtype=np.float32)
        summed: np.ndarray = (hidden * mask[:, :, None]).sum(axis=1)
        pooled: np.ndarray = summed / np.clip(mask.sum(axis=1, keepdims=True), 1e-9, None)
        norms: np.ndarray = np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        unit: np.ndarray = pooled / norms
        return unit

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors of `texts`, batched by length so little time goes to padding."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), 0), dtype=np.float32)
        parts = []
        for start in range(0, len(order), self.embed_batch_size):
            batch = order[start : start + self.embed_batch_size]
            parts.append((batch, self._run([texts[i] for i in batch])))
        if parts:
            out = np.zeros((len(texts), parts[0][1].shape[1]), dtype=np.float32)
            for batch, vectors in parts:
                out[batch] = vectors
        return out

    def _get_query_embedding(self, query: str) -> list[float]:
        return [float(x) for x in self.embed([query])[0]]

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return [float(x) for x in self.embed([text])[0]]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return [[float(x) for x in row] for row in self.embed(texts)]
