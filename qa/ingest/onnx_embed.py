"""The fast embedding stage: the sentence-transformers model run by ONNX Runtime, int8-quantised.

On a small CPU, torch fp32 embeds all-MiniLM-L6-v2 at about 24 abstracts/s. The same weights
exported to ONNX and dynamically quantised to int8, fed length-sorted batches, are several times
faster with the same retrieval quality (see eval/bench/BENCHMARKS.md). The export runs once per
model, from the local weights, into the model cache; nothing is downloaded.

The graph is exported with the model's plain ("eager") attention: ONNX Runtime runs it, int8, about
40% faster than the graph of PyTorch's fused scaled-dot-product attention. Texts are tokenized once,
sorted by length and padded per batch, so little time goes to padding. Batches run side by side, one
single-threaded ONNX Runtime call per physical core: on small CPUs that beats one call spread over
every core (no waiting for the slowest thread at each operator), most of all while the rest of ingest
runs beside the model.

The pipeline is sentence-transformers' own: word pieces (truncated to the model's window), the
transformer, mean pooling over the attention mask, L2 normalisation.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

INPUTS = ("input_ids", "attention_mask", "token_type_ids")
# Padded tokens per ONNX Runtime call at most: small calls keep the attention tensors in cache. On 2
# cores, 512 embeds abstracts ~20% faster than 32 texts of 256 tokens, with a quarter of the memory.
BATCH_TOKENS = 512


@cache
def physical_cores() -> int:
    """Physical cores this process may run on (ONNX Runtime gains nothing from SMT siblings)."""
    allowed = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set(range(os.cpu_count() or 1))
    cores = set()
    for cpu in allowed:
        try:
            siblings = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology/thread_siblings_list").read_text().strip()
        except OSError:
            siblings = str(cpu)
        cores.add(siblings)
    return max(1, len(cores))


def _max_length(model_dir: Path, default: int = 256) -> int:
    config = model_dir / "sentence_bert_config.json"
    if config.is_file():
        return int(json.loads(config.read_text()).get("max_seq_length", default))
    return default


def export(model_dir: Path, target: Path, quantize: bool) -> Path:
    """Write the ONNX graph of the transformer at `model_dir` to `target` (int8 if `quantize`)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    # A private working folder: processes exporting at once (first runs started together) must not
    # share temporary files, or one reads another's half-written or removed graph.
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".export-") as work:
        return _export_into(model_dir, target, quantize, Path(work))


def _export_into(model_dir: Path, target: Path, quantize: bool, work: Path) -> Path:
    import torch
    from transformers import AutoModel

    fp32 = work / "model.fp32.onnx"
    # Eager attention: its plain MatMul/Softmax graph quantises and runs faster than the fused SDPA one.
    model = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager").eval()

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
    tmp = work / "model.onnx"
    if quantize:
        import onnx
        from onnxruntime.quantization import QuantType, quantize_dynamic

        # Per-channel scales keep int8 vectors within cosine 0.99 of fp32 (per-tensor: 0.93). The first
        # layer stays fp32: its inputs have the widest range, and quantising them cost retrieval quality
        # (gold-set nDCG@10 now equals fp32's) for a sixth of the model's time.
        first_layer = [n.name for n in onnx.load(str(fp32)).graph.node
                       if n.op_type == "MatMul" and "/layer.0/" in n.name]
        quantize_dynamic(str(fp32), str(tmp), weight_type=QuantType.QInt8, per_channel=True,
                         nodes_to_exclude=first_layer)
    else:
        fp32.replace(tmp)
    tmp.replace(target)  # atomic: a half-written model is never picked up
    return target


class OnnxEncoder:
    """A sentence-transformers model run on ONNX Runtime: texts in, unit vectors out.

    Plain Python, so that answering a question needs no LlamaIndex import (two seconds of a cold `ask`);
    `qa.ingest.onnx_llamaindex.OnnxEmbedding` wraps it as a LlamaIndex embedding model for ingest.
    """

    def __init__(self, model_dir: Path, onnx_path: Path, batch_size: int = 32, threads: int | None = None,
                 one_per_run: bool = False) -> None:
        """`threads`: batches run at once, each on one thread (default: the physical cores).

        `one_per_run` for a dynamically quantised model: its activations are scaled by the range of
        the whole batch, so a text's vector would depend on the texts batched with it (and on their
        padding); one text per run makes it a function of the text alone, at about the same speed.
        """
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.model_name = f"{model_dir.name}:{onnx_path.name}"
        self.embed_batch_size = batch_size
        self._workers = threads or physical_cores()
        self._one_per_run = one_per_run
        self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="arxiv-qa-onnx") if self._workers > 1 \
            else None
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1  # parallel across batches instead (see the module's docstring)
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        tokenizer.enable_truncation(_max_length(model_dir))
        tokenizer.no_padding()  # padded per batch, after sorting by length
        self._tokenizer = tokenizer

    def _run(self, encoded: Sequence[Any]) -> np.ndarray:
        """Unit vectors of one batch of tokenized texts (padded here to the batch's longest)."""
        width = max(len(e.ids) for e in encoded)
        ids = np.zeros((len(encoded), width), dtype=np.int64)
        mask = np.zeros((len(encoded), width), dtype=np.int64)
        for row, e in enumerate(encoded):
            ids[row, : len(e.ids)] = e.ids
            mask[row, : len(e.ids)] = 1
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden: np.ndarray = np.asarray(self._session.run(None, feed)[0], dtype=np.float32)
        summed: np.ndarray = np.einsum("bsd,bs->bd", hidden, mask.astype(np.float32))
        pooled: np.ndarray = summed / np.clip(mask.sum(axis=1, keepdims=True), 1e-9, None)
        norms: np.ndarray = np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        unit: np.ndarray = pooled / norms
        return unit

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors of `texts`: tokenized once, sorted by length, cut into batches of similar lengths."""
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        encoded = self._tokenizer.encode_batch(list(texts))
        order = sorted(range(len(texts)), key=lambda i: len(encoded[i].ids))
        batches: list[list[int]] = []
        for i in order:  # shortest first: a batch is full at `embed_batch_size` texts or the token budget
            full = batches and (self._one_per_run or len(batches[-1]) == self.embed_batch_size
                                or (len(batches[-1]) + 1) * len(encoded[i].ids) > BATCH_TOKENS)
            if not batches or full:
                batches.append([])
            batches[-1].append(i)
        runs = [[encoded[i] for i in batch] for batch in batches]
        if len(runs) > 1 and self._pool is not None:
            results = list(self._pool.map(self._run, runs))
        else:
            results = [self._run(run) for run in runs]
        out: np.ndarray | None = None
        for batch, vectors in zip(batches, results, strict=True):
            if out is None:
                out = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
            out[batch] = vectors
        assert out is not None
        return out

    def get_text_embedding_batch(self, texts: list[str], show_progress: bool = False,
                                 **kwargs: Any) -> list[list[float]]:
        """All texts in one call to `embed`, which sorts them by length before batching."""
        rows: list[list[float]] = self.embed(texts).tolist()
        return rows

    def get_query_embedding(self, query: str) -> list[float]:
        row: list[float] = self.embed([query])[0].tolist()
        return row
