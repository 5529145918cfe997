"""The ONNX export of the embedding model, done on first use: processes started together share no files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from qa.settings import Settings

pytestmark = pytest.mark.slow

EXPORT = """
import sys
from pathlib import Path
from qa.ingest.embed import onnx_model
from qa.settings import Settings
print(onnx_model(Settings().embed_model, "onnx-int8", Path(sys.argv[1])))
"""


def test_two_first_exports_at_once(tmp_path: Path) -> None:
    """Two processes that find no exported model both export it; both finish and get a loadable file."""
    import onnxruntime

    procs = [subprocess.Popen([sys.executable, "-c", EXPORT, str(tmp_path)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=300) for p in procs]
    for p, (_, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err[-2000:]
    paths = {Path(out.strip().splitlines()[-1]) for out, _ in outputs}
    assert len(paths) == 1
    onnxruntime.InferenceSession(str(paths.pop()), providers=["CPUExecutionProvider"])
    leftovers = [p.name for p in tmp_path.rglob("*") if "tmp" in p.name or p.name.startswith(".export-")]
    assert not leftovers


def test_answering_embeds_the_question_without_llamaindex_and_as_ingest_would(corpus_store: Settings) -> None:
    """Importing LlamaIndex took two seconds of a cold `ask`: a question is embedded by the ONNX model alone,
    to the same vector the LlamaIndex wrapper that ingest uses gives."""
    from tests.conftest import ROOT

    code = f"""
import sys
from pathlib import Path
from qa.answer.engine import QA
from qa.settings import Settings
s = Settings(_env_file=None, store=Path({str(corpus_store.store)!r}),
             model_cache=Path({str(corpus_store.model_cache)!r}))
engine = QA(s)
answer = engine.ask("How does Qwen2-VL handle images of any resolution?")
assert answer.citations, answer
print(sorted(m for m in sys.modules if m.startswith("llama_index")))
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"
    from qa.index.store import Store

    store = Store(corpus_store)
    question = store.embed_query("vision language model resolution")
    assert store._encoder is not None and "_embedder" not in store.__dict__
    wrapped = store.llamaindex_embedding().get_query_embedding("vision language model resolution")
    assert wrapped == question
    assert store.llamaindex_embedding().encoder is store._encoder  # one model in memory, not two
