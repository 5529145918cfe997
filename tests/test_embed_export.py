"""The ONNX export of the embedding model, done on first use: processes started together share no files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

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
