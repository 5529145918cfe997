"""Benchmark of arxiv-qa: ingest by stage, memory, disk, retrieval and answer latency, cold start, embedding.

One run measures, for synthetic corpora of several sizes in the Kaggle snapshot layout (eval/synth.py):

- ingest throughput of each stage (parse, merge, chunk, embed, store) in papers/s, timed inside the
  real `qa.ingest.ingest` call, and of the whole ingest against bare embedding of the same abstracts;
- peak RSS of a fresh process per size (so each peak is its own), and the store's size on disk;
- warm retrieval latency p50/p95 for BM25, dense and hybrid, and extractive answer latency;
- the cold start of a new `arxiv-qa ask` process on each store and on the bundled corpus;

and compares the embedding backends (torch fp32, ONNX fp32, ONNX int8) on the same abstracts: speed,
agreement of the vectors, and hybrid nDCG@10 on the gold set (eval/gold.jsonl over the bundled corpus).

Sizes above --full-embed-max are not embedded in full (100k abstracts take the better part of an hour
on two cores): their embed stage is measured on a sample, and the vectors stored are precomputed ones
(the sample's real vectors, each reused with a little noise). The report says which sizes did so.

    .venv/bin/python eval/bench.py                              # 1k, 10k, 100k into eval/bench/
    .venv/bin/python eval/bench.py --sizes 1000,10000 --out /tmp/bench
    .venv/bin/python eval/bench.py --smoke --out /tmp/smoke     # the short version the tests run

Writes <out>/results.json, <out>/BENCHMARKS.md and PNG plots (latency, memory, throughput, embedding).
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(HERE)]

import synth  # noqa: E402
from servers import free_port, start_chroma  # noqa: E402

from qa.evaluation.evaluate import percentile  # noqa: E402

BACKENDS = ("torch", "onnx", "onnx-int8")
STAGES = ("parse", "merge", "chunk", "embed", "store")
METHODS = ("bm25", "dense", "hybrid")
NOISE = 0.5  # norm of the noise added to a reused vector (cosine to its source about 0.9)
COLD_QUESTION = "How many languages does Qwen3 support?"


# --- small helpers -------------------------------------------------------------------------------
def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mib() -> float:
    try:
        import psutil

        return float(psutil.Process().memory_info().rss) / 2**20
    except ImportError:  # pragma: no cover - psutil is a dev dependency
        return 0.0


def latency(seconds: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {"n": len(ms), "p50_ms": round(percentile(ms, 50), 2), "p95_ms": round(percentile(ms, 95), 2),
            "mean_ms": round(statistics.fmean(ms), 2) if ms else 0.0, "max_ms": round(max(ms, default=0.0), 2)}


def disk_usage(root: Path) -> dict[str, int]:
    """Bytes on disk under `root`, in total and per top-level entry (chroma, catalog, bm25)."""
    parts: dict[str, int] = {}
    for path in root.rglob("*"):
        if path.is_file():
            top = path.relative_to(root).parts[0]
            top = "catalog" if top.startswith("catalog.sqlite") else top
            parts[top] = parts.get(top, 0) + path.stat().st_blocks * 512
    return {"total": sum(parts.values()), **dict(sorted(parts.items()))}


def machine() -> dict[str, Any]:
    cpu = ""
    with suppress(OSError):
        cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name")), "")
    info: dict[str, Any] = {"cpu": cpu or platform.processor(), "logical_cores": os.cpu_count(),
                            "python": platform.python_version(), "platform": platform.platform()}
    try:
        import psutil

        info["physical_cores"] = psutil.cpu_count(logical=False)
        info["ram_gib"] = round(psutil.virtual_memory().total / 2**30, 1)
    except ImportError:  # pragma: no cover
        pass
    from importlib.metadata import version

    for package in ("onnxruntime", "torch", "chromadb", "bm25s", "llama-index-core"):
        with suppress(Exception):  # a missing package is simply not listed
            info[package] = version(package)
    return info


class LoadSampler:
    """Samples the 1-minute load average in the background while the benchmark runs."""

    def __init__(self, every: float = 5.0) -> None:
        self.samples: list[tuple[float, float]] = []
        self.start = time.monotonic()
        self.every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            self.samples.append((round(time.monotonic() - self.start, 1), os.getloadavg()[0]))
            if self._stop.wait(self.every):
                return

    def summary(self) -> dict[str, Any]:
        self._stop.set()
        self._thread.join()
        loads = [v for _, v in self.samples]
        return {"load1_mean": round(statistics.fmean(loads), 2), "load1_max": round(max(loads), 2),
                "load1_min": round(min(loads), 2), "samples": len(loads)}


def ingest_batch() -> int:
    """Papers per committed ingest batch, as the settings default it."""
    from qa.settings import Settings

    return int(Settings.model_fields["ingest_batch"].default)


def make_settings(store: Path, model_cache: Path, backend: str = "onnx-int8", chroma_url: str | None = None,
                  dense_view: bool = True, **more: Any) -> Any:
    from qa.settings import Settings

    return Settings(_env_file=None, store=store, model_cache=model_cache,  # type: ignore[call-arg]
                    embed_backend=backend, chroma_url=chroma_url, dense_view=dense_view, **more)


class RssPeak:
    """The highest resident memory of a process (and its children) while the block runs, sampled."""

    def __init__(self, pid: int | None = None, every: float = 0.05) -> None:
        self.pid, self.every = pid or os.getpid(), every
        self.before = self.peak = 0.0

    def _rss(self) -> float:
        import psutil

        try:
            proc = psutil.Process(self.pid)
            return float(proc.memory_info().rss + sum(c.memory_info().rss for c in proc.children(recursive=True)))
        except psutil.Error:
            return 0.0

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.peak = max(self.peak, self._rss())

    def __enter__(self) -> RssPeak:
        self.before = self.peak = self._rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())


def run_worker(args: list[str], out: Path) -> dict[str, Any]:
    """Run this script's worker mode in a new process (its own peak RSS) and read its JSON."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARXIV_QA_", "OPENAI_"))}
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), *args, "--result", str(out)],
                          env=env, text=True, capture_output=True)
    if proc.returncode != 0:
        raise SystemExit(f"bench worker {' '.join(args)} failed:\n{proc.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(out.read_text())
    result["load1_after"] = os.getloadavg()[0]
    return result


# --- stage timing inside the real ingest ---------------------------------------------------------
@contextmanager
def stage_clock(embedder_class: type) -> Iterator[dict[str, float]]:
    """Seconds spent in each ingest stage while the block runs, by wrapping the functions of each stage.

    parse: reading records (plus hashing and sniffing the file); merge: `Merger.add` and re-reading
    the touched papers; chunk: `Chunker.chunks`; embed: inside the embedding model, in whichever
    thread (ingest embeds the next batch in the background); wait: the main thread in `Writer._embed`
    (waiting for those vectors); write: `Writer._write` (wait plus the vector upsert). What is left of
    the main thread's wall time (upsert, catalog writes and commits) is the store stage.
    """
    import qa.ingest.pipeline as ingest_module
    from qa.index.writer import Writer
    from qa.ingest.chunks import Chunker
    from qa.ingest.merge import Merger

    seconds = dict.fromkeys(("parse", "merge", "chunk", "embed", "wait", "write"), 0.0)

    def timed(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                seconds[name] += time.perf_counter() - start

        return wrapper

    def timed_iter(func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Iterator[Any]:
            it = iter(func(*args, **kwargs))
            while True:
                start = time.perf_counter()
                try:
                    item = next(it)
                except StopIteration:
                    return
                finally:
                    seconds["parse"] += time.perf_counter() - start
                yield item

        return wrapper

    patches: list[tuple[Any, str, Any]] = [
        (ingest_module, "read_papers", timed_iter(ingest_module.read_papers)),
        (ingest_module, "file_sha256", timed("parse", ingest_module.file_sha256)),
        (ingest_module, "detect_format", timed("parse", ingest_module.detect_format)),
        (Merger, "add", timed("merge", Merger.add)),
        (ingest_module.Ingester, "_current", timed("merge", ingest_module.Ingester._current)),
        (Chunker, "chunks", timed("chunk", Chunker.chunks)),
        (Writer, "_embed", timed("wait", Writer._embed)),
        (Writer, "_write", timed("write", Writer._write)),
        (embedder_class, "get_text_embedding_batch", timed("embed", embedder_class.get_text_embedding_batch)),
    ]
    originals = [(obj, name, obj.__dict__.get(name)) for obj, name, _ in patches]
    for obj, name, new in patches:
        setattr(obj, name, new)
    try:
        yield seconds
    finally:
        for obj, name, old in originals:
            if old is None:
                delattr(obj, name)  # it was inherited
            else:
                setattr(obj, name, old)


def precomputed_embedder(real: Any, pool: Any) -> Any:
    """An embedding model whose text vectors are `pool` rows reused with noise; queries use `real`.

    Each text gets the pool row its hash picks plus Gaussian noise of norm ~NOISE, normalised: the
    vectors cluster as real ones do (a random unit vector per chunk would be a needlessly hard case
    for the HNSW index), at no embedding cost.
    """
    import numpy as np
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from pydantic import PrivateAttr

    class PrecomputedEmbedding(BaseEmbedding):
        _real: Any = PrivateAttr()
        _pool: Any = PrivateAttr()

        def __init__(self) -> None:
            super().__init__(model_name="precomputed", embed_batch_size=2048)
            self._real = real
            self._pool = np.asarray(pool, dtype=np.float32)

        def _vector(self, text: str) -> list[float]:
            seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
            dim = self._pool.shape[1]
            v = self._pool[seed % len(self._pool)] + np.random.default_rng(seed).normal(0, NOISE / dim**0.5, dim)
            return [float(x) for x in v / np.linalg.norm(v)]

        def _get_text_embedding(self, text: str) -> list[float]:
            return self._vector(text)

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return [self._vector(t) for t in texts]

        def _get_query_embedding(self, query: str) -> list[float]:
            return list(self._real.get_query_embedding(query))

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

    return PrecomputedEmbedding()


# --- worker: one corpus size ---------------------------------------------------------------------
def measure_size(opts: argparse.Namespace) -> dict[str, Any]:
    """Ingest the corpus `opts.corpus` into a new store and measure everything about it."""
    from qa.answer.engine import QA
    from qa.index.retrieve import Retriever
    from qa.index.writer import Writer
    from qa.ingest import ingest
    from qa.ingest.merge import as_new
    from qa.ingest.sources import read_papers

    n, corpus, store_dir = opts.worker_size, Path(opts.corpus), Path(opts.store)
    full = n <= opts.full_embed_max and not opts.precomputed
    settings = make_settings(store_dir, Path(opts.model_cache), chroma_url=opts.chroma_url)
    store = Writer(settings)
    out: dict[str, Any] = {"papers": n, "full_embedding": full, "corpus_bytes": corpus.stat().st_size,
                           "rss_start_mib": round(peak_rss_mib(), 1)}

    start = time.perf_counter()
    embedder = store.llamaindex_embedding()
    chunker = store.chunker
    out["model_load_s"] = round(time.perf_counter() - start, 3)
    start = time.perf_counter()
    store.chunk_count()  # opening Chroma (import, client, collection) is a fixed cost, like loading the model
    out["store_open_s"] = round(time.perf_counter() - start, 3)

    # Bare embedding: the chunks of the first papers, straight through the model.
    sample = [as_new(p) for p in islice(read_papers(corpus), min(n, opts.embed_sample))]
    texts = [c.text for p in sample for c in chunker.chunks(p)]
    embedder.get_text_embedding_batch(texts[:16])  # warm-up
    start = time.perf_counter()
    vectors = embedder.get_text_embedding_batch(texts)
    seconds = time.perf_counter() - start
    out["bare_embed"] = {"papers": len(sample), "chunks": len(texts), "seconds": round(seconds, 3),
                         "papers_per_s": round(len(sample) / seconds, 2),
                         "chunks_per_s": round(len(texts) / seconds, 2)}
    if not full:
        store.__dict__["_embedder"] = precomputed_embedder(embedder, vectors)  # replaces the cached property
    del vectors, texts, sample

    with stage_clock(type(store.llamaindex_embedding())) as clock:
        start = time.perf_counter()
        report = ingest(store, [str(corpus)])
        total = time.perf_counter() - start
    if report.errors:
        raise SystemExit(f"ingest reported errors: {report.errors[:3]}")
    chunks = store.chunk_count()
    main_thread = clock["parse"] + clock["merge"] + clock["chunk"] + clock["wait"]
    stage_s = {"parse": clock["parse"], "merge": clock["merge"], "chunk": clock["chunk"], "embed": clock["embed"],
               "store": total - main_thread}
    out["chunks"] = chunks
    out["ingest"] = {
        "seconds": round(total, 3), "papers_per_s": round(n / total, 2),
        "stage_seconds": {k: round(v, 3) for k, v in stage_s.items()},
        "stage_papers_per_s": {k: round(n / v, 2) if v > 0 else None for k, v in stage_s.items()},
        "vector_upsert_s": round(clock["write"] - clock["wait"], 3),
        "waiting_for_model_s": round(clock["wait"], 3),
    }
    rest = total - clock["wait"]  # the main thread's own work: everything but embedding
    out["ingest"]["papers_per_s_without_embed"] = round(n / rest, 2)
    if full:
        out["ingest"]["vs_bare_embed"] = round(out["ingest"]["papers_per_s"] / out["bare_embed"]["papers_per_s"], 3)
    else:  # the embed stage as the sample measured it; the rest of the pipeline as measured here
        out["ingest"]["stage_papers_per_s"]["embed"] = out["bare_embed"]["papers_per_s"]
        out["ingest"]["precomputed_embed_s"] = out["ingest"]["stage_seconds"].pop("embed")
        out["ingest"]["stage_seconds"]["embed"] = round(n / out["bare_embed"]["papers_per_s"], 3)
    out["rss_after_ingest_mib"] = round(current_rss_mib(), 1)
    out["peak_rss_ingest_mib"] = round(peak_rss_mib(), 1)

    # A new Store, as a new process would open it: BM25 built (first time) and loaded. Queries and
    # the extractive answerer's sentences are embedded by the real model at every size.
    store = Writer(settings)
    store.__dict__["_embedder"] = embedder
    start = time.perf_counter()
    with RssPeak() as rss:
        store.lexicon()
    out["bm25_build_s"] = round(time.perf_counter() - start, 3)
    out["bm25_build_rss_increase_mib"] = round((rss.peak - rss.before) / 2**20, 1)
    store._bm25 = None
    start = time.perf_counter()
    store.lexicon()
    out["bm25_load_s"] = round(time.perf_counter() - start, 3)
    out["disk_bytes"] = disk_usage(store_dir)

    retriever = Retriever(store)
    questions = synth.queries(opts.queries, seed=opts.seed + 1)
    out["retrieval"] = {}
    for method in METHODS:
        for q in questions[:5]:
            retriever.retrieve(q, method=method)  # warm: indexes in memory, caches filled
        times = []
        for q in questions:
            start = time.perf_counter()
            retriever.retrieve(q, method=method)
            times.append(time.perf_counter() - start)
        out["retrieval"][method] = latency(times)

    engine = QA(settings, store)
    _ = engine.warm
    times = []
    refused = 0
    for q in questions[: opts.answers]:
        start = time.perf_counter()
        answer = engine.ask(q, mode="extractive")
        times.append(time.perf_counter() - start)
        refused += answer.refused
    out["answer_extractive"] = {**latency(times), "refused": refused}
    out["peak_rss_mib"] = round(peak_rss_mib(), 1)
    return out


# --- worker: one embedding backend ---------------------------------------------------------------
def compare_backend(opts: argparse.Namespace) -> dict[str, Any]:
    """Speed of one backend on the comparison abstracts, and retrieval quality on the gold set."""
    import numpy as np

    from qa.evaluation.evaluate import DEPTH, dedupe, load_gold, retrieval_metrics
    from qa.index.retrieve import Retriever
    from qa.index.writer import Writer
    from qa.ingest import ingest
    from qa.ingest.embed import load_embedder, onnx_model

    backend, cache = opts.worker_compare, Path(opts.model_cache)
    texts = json.loads(Path(opts.texts).read_text())
    out: dict[str, Any] = {"backend": backend, "abstracts": len(texts)}
    if backend != "torch":
        start = time.perf_counter()
        onnx_model("bundled", backend, cache)  # exported once per machine; not part of the load time
        out["export_s"] = round(time.perf_counter() - start, 2)
    start = time.perf_counter()
    embedder = load_embedder("bundled", 32, backend, cache)
    embedder.get_text_embedding_batch(texts[:8])
    out["load_s"] = round(time.perf_counter() - start, 3)
    if backend == "torch":
        import torch

        out["threads"] = torch.get_num_threads()
    else:
        out["threads"] = embedder.encoder._workers
    runs = []
    vectors: Any = None
    for _ in range(opts.repeat):
        start = time.perf_counter()
        vectors = embedder.get_text_embedding_batch(texts)
        runs.append(time.perf_counter() - start)
    best = min(runs)
    out["seconds"] = [round(s, 3) for s in runs]
    out["abstracts_per_s"] = round(len(texts) / best, 2)
    np.save(Path(opts.result).with_suffix(".npy"), np.asarray(vectors, dtype=np.float32))

    settings = make_settings(Path(opts.store), cache, backend)
    store = Writer(settings)
    store.__dict__["_embedder"] = embedder
    ingest(store)
    retriever = Retriever(store)
    gold = [g for g in load_gold(Path(opts.gold)) if g.answerable][: opts.gold_max or None]
    scores: dict[str, list[dict[str, float]]] = {m: [] for m in METHODS}
    for item in gold:
        for method in METHODS:
            found = retriever.retrieve(item.question, DEPTH, method=method)
            ranked = dedupe(p.chunk.doc_key for p in found.passages)
            scores[method].append(retrieval_metrics(ranked, item.gold_keys))
    out["gold_questions"] = len(gold)
    out["retrieval"] = {m: {k: round(statistics.fmean(s[k] for s in rows), 4) for k in rows[0]}
                        for m, rows in scores.items()}
    out["ndcg@10"] = out["retrieval"]["hybrid"]["ndcg@10"]
    out["peak_rss_mib"] = round(peak_rss_mib(), 1)
    return out


# --- parent: cold start --------------------------------------------------------------------------
def cold_start(store: Path, model_cache: Path, runs: int, question: str = COLD_QUESTION,
               chroma_url: str | None = None, dense_view: bool = True) -> dict[str, Any]:
    """Wall time of new `arxiv-qa ask` processes on `store` (extractive answers), and their median; `dense_view`
    False: with the memory-mapped dense view off (`ARXIV_QA_DENSE_VIEW`), so an embedded store opens Chroma."""
    command = [sys.executable, "-m", "ui.cli"]  # what the `arxiv-qa` script runs, from this checkout
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARXIV_QA_", "OPENAI_"))}
    env.update(ARXIV_QA_MODEL_CACHE=str(model_cache), ARXIV_QA_EMBED_BACKEND="onnx-int8", ARXIV_QA_MODE="extractive")
    if chroma_url:
        env["ARXIV_QA_CHROMA_URL"] = chroma_url
    if not dense_view:
        env["ARXIV_QA_DENSE_VIEW"] = "false"
    walls, inside, rss = [], [], []
    for _ in range(runs):
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            start = time.perf_counter()
            proc = subprocess.Popen([*command, "ask", question, "--json", "--store", str(store)],
                                    env=env, stdout=out, stderr=err)
            _, status, usage = os.wait4(proc.pid, 0)  # the child's own peak RSS, not the largest child's
            walls.append(time.perf_counter() - start)
            proc.returncode = os.waitstatus_to_exitcode(status)
            out.seek(0)
            err.seek(0)
            if proc.returncode != 0:
                raise SystemExit(f"arxiv-qa ask failed on {store}: {err.read().decode().strip()[-500:]}")
            inside.append(float(json.loads(out.read())["timings"]["total"]))
            rss.append(usage.ru_maxrss / 1024)
    return {"runs_s": [round(w, 3) for w in walls], "median_s": round(statistics.median(walls), 3),
            "answer_in_process_median_s": round(statistics.median(inside), 3),
            "peak_rss_mib": round(max(rss), 1)}


# --- parent: the whole run -----------------------------------------------------------------------
def main_run(opts: argparse.Namespace) -> dict[str, Any]:
    out_dir = Path(opts.out).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    work = Path(opts.work).resolve() if opts.work else Path(tempfile.mkdtemp(prefix="arxiv-qa-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    model_cache = Path(opts.model_cache).expanduser().resolve()
    sampler = LoadSampler()
    started = time.monotonic()
    results: dict[str, Any] = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python", "eval/bench.py", *sys.argv[1:]]),
        "machine": machine(), "load_at_start": list(os.getloadavg()),
        "settings": {"sizes": opts.sizes, "full_embed_max": opts.full_embed_max, "embed_sample": opts.embed_sample,
                     "queries": opts.queries, "answers": opts.answers, "cold_runs": opts.cold_runs,
                     "compare_abstracts": opts.compare_abstracts, "backends": opts.backends, "seed": opts.seed,
                     "repeat": opts.repeat, "gold_max": opts.gold_max, "server_size": opts.server_size,
                     "noise": NOISE, "smoke": opts.smoke,
                     "ingest_batch": ingest_batch()},
    }

    def log(message: str) -> None:
        print(f"[{time.monotonic() - started:7.1f}s load {os.getloadavg()[0]:.2f}] {message}", file=sys.stderr,
              flush=True)

    # 1. Embedding backends, side by side, each in its own process.
    texts_file = work / "compare-abstracts.json"
    texts_file.write_text(json.dumps([" ".join(r["abstract"].split())
                                      for r in synth.records(opts.compare_abstracts, seed=opts.seed + 7)]))
    results["embedding"] = {}
    for backend in opts.backends:
        log(f"embedding comparison: {backend}")
        shutil.rmtree(work / f"bundled-{backend}", ignore_errors=True)
        results["embedding"][backend] = run_worker(
            ["--worker-compare", backend, "--texts", str(texts_file), "--store", str(work / f"bundled-{backend}"),
             "--model-cache", str(model_cache), "--gold", str(opts.gold), "--gold-max", str(opts.gold_max),
             "--repeat", str(opts.repeat)],
            work / f"compare-{backend}.json")
    agreement(results["embedding"], work)

    # 2. Cold start on the bundled corpus (the int8 store of the comparison).
    log("cold start on the bundled corpus")
    results["cold_start_bundled"] = cold_start(work / "bundled-onnx-int8", model_cache, opts.cold_runs)

    # 3. Each size in its own process.
    results["sizes"] = []
    for n in opts.sizes:
        corpus = work / f"corpus-{n}-seed{opts.seed}.jsonl"
        if not corpus.exists():
            log(f"generating {n:,} papers")
            synth.write_snapshot(corpus, n, seed=opts.seed)
        store = work / f"store-{n}"
        shutil.rmtree(store, ignore_errors=True)
        log(f"size {n:,}: ingest and measure ({'embedding all' if n <= opts.full_embed_max else 'precomputed'})")
        load_before = os.getloadavg()[0]
        row = run_worker(
            ["--worker-size", str(n), "--corpus", str(corpus), "--store", str(store), "--model-cache", str(model_cache),
             "--full-embed-max", str(opts.full_embed_max), "--embed-sample", str(opts.embed_sample),
             "--queries", str(opts.queries), "--answers", str(opts.answers), "--seed", str(opts.seed)],
            work / f"size-{n}.json")
        row["load1_before"] = load_before
        log(f"size {n:,}: cold start")
        row["cold_start"] = cold_start(store, model_cache, opts.cold_runs)
        results["sizes"].append(row)
        if not opts.keep:
            shutil.rmtree(store, ignore_errors=True)

    estimate_precomputed(results["sizes"])
    if opts.server_size:
        log(f"size {opts.server_size:,} against a Chroma server (chroma run)")
        results["server"] = measure_server(opts, work, model_cache)

    results["load"] = sampler.summary()
    results["load"]["at_end"] = list(os.getloadavg())
    results["seconds"] = round(time.monotonic() - started, 1)
    results["checks"] = checks(results)
    if not opts.keep and not opts.work:
        shutil.rmtree(work, ignore_errors=True)
    write_outputs(results, out_dir)
    log(f"done: {out_dir / 'BENCHMARKS.md'}")
    return results


def estimate_precomputed(rows: list[dict[str, Any]]) -> None:
    """For sizes stored with precomputed vectors: the whole-ingest rate real embedding would give.

    Embedding runs beside the other stages, so the rate is the sample's bare-embedding rate times the
    ingest/bare ratio measured at the largest fully embedded size, unless the other stages (measured
    at this size) are slower still. Without a fully embedded size, the stages are taken as serial.
    """
    full = [r for r in rows if r["full_embedding"]]
    ratio = max(full, key=lambda r: r["papers"])["ingest"]["vs_bare_embed"] if full else None
    for r in rows:
        if r["full_embedding"]:
            continue
        bare, rest = r["bare_embed"]["papers_per_s"], r["ingest"]["papers_per_s_without_embed"]
        estimate = min(bare * ratio, rest) if ratio else 1 / (1 / bare + 1 / rest)
        r["ingest"]["papers_per_s_estimated"] = round(estimate, 2)
        r["ingest"]["estimate_basis"] = (f"bare embed x {ratio} (ratio at {max(f['papers'] for f in full)} papers)"
                                         if ratio else "serial")


def measure_server(opts: argparse.Namespace, work: Path, model_cache: Path) -> dict[str, Any]:
    """One size ingested into a `chroma run` server (precomputed vectors): client and server memory, speed."""
    n = opts.server_size
    corpus = work / f"corpus-{n}-seed{opts.seed}.jsonl"
    if not corpus.exists():
        synth.write_snapshot(corpus, n, seed=opts.seed)
    server_dir, store = work / f"server-{n}", work / f"server-store-{n}"
    for folder in (server_dir, store):
        shutil.rmtree(folder, ignore_errors=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start_chroma(server_dir, port)
    try:
        with RssPeak(proc.pid, every=0.2) as server_rss:
            row = run_worker(
                ["--worker-size", str(n), "--corpus", str(corpus), "--store", str(store),
                 "--model-cache", str(model_cache), "--precomputed", "--chroma-url", url,
                 "--embed-sample", str(min(opts.embed_sample, 300)), "--queries", str(opts.queries),
                 "--answers", str(opts.answers), "--seed", str(opts.seed)],
                work / f"server-{n}.json")
        row["server_peak_rss_mib"] = round(server_rss.peak / 2**20, 1)
        row["server_idle_rss_mib"] = round(server_rss.before / 2**20, 1)
        row["server_disk_bytes"] = disk_usage(server_dir)
        row["cold_start"] = cold_start(store, model_cache, opts.cold_runs, chroma_url=url)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    if not opts.keep:
        shutil.rmtree(server_dir, ignore_errors=True)
        shutil.rmtree(store, ignore_errors=True)
    return row


def agreement(embedding: dict[str, Any], work: Path) -> None:
    """Cosine of each backend's vectors to the torch fp32 ones (same abstracts, same order)."""
    import numpy as np

    ref_file = work / "compare-torch.npy"
    if not ref_file.exists():
        return
    ref = np.load(ref_file)
    for backend, row in embedding.items():
        vectors = np.load(work / f"compare-{backend}.npy")
        cos = (ref * vectors).sum(axis=1) / (np.linalg.norm(ref, axis=1) * np.linalg.norm(vectors, axis=1))
        row["cosine_to_torch"] = {"mean": round(float(cos.mean()), 5), "min": round(float(cos.min()), 5)}
        row["speedup_vs_torch"] = round(row["abstracts_per_s"] / embedding["torch"]["abstracts_per_s"], 2)
        row["ndcg_delta_vs_torch"] = round(row["ndcg@10"] - embedding["torch"]["ndcg@10"], 4)


def checks(results: dict[str, Any]) -> dict[str, Any]:
    """The targets of the performance issue, each with the measured value and whether it is met."""
    out: dict[str, Any] = {}
    emb = results["embedding"]
    if "torch" in emb and "onnx-int8" in emb:
        speed = emb["onnx-int8"]["speedup_vs_torch"]
        delta = emb["onnx-int8"]["ndcg_delta_vs_torch"]
        out["int8_speedup_vs_torch_ge_2"] = {"value": speed, "met": speed >= 2}
        out["int8_ndcg_within_0.01_of_fp32"] = {"value": delta, "met": abs(delta) <= 0.01}
    full = [r for r in results["sizes"] if r["full_embedding"]]
    if full:
        ratio = min(r["ingest"]["vs_bare_embed"] for r in full)
        out["ingest_ge_0.9_of_bare_embed"] = {"value": ratio, "met": ratio >= 0.9,
                                               "sizes": [r["papers"] for r in full]}
    cold = results["cold_start_bundled"]["median_s"]
    out["cold_start_bundled_lt_4s"] = {"value": cold, "met": cold < 4}
    big = [r for r in results["sizes"] if r["chunks"] >= 100_000]
    if big:
        p95 = max(r["retrieval"]["hybrid"]["p95_ms"] for r in big)
        out["hybrid_p95_lt_50ms_at_100k_chunks"] = {"value": p95, "met": p95 < 50,
                                                    "chunks": [r["chunks"] for r in big]}
    return out


# --- outputs -------------------------------------------------------------------------------------
def write_outputs(results: dict[str, Any], out_dir: Path) -> None:
    (out_dir / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    plots(results, out_dir)
    from bench_report import render  # the Markdown report lives beside this script

    (out_dir / "BENCHMARKS.md").write_text(render(results))


def plots(results: dict[str, Any], out_dir: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = results["sizes"]
    chunks = [r["chunks"] for r in rows]
    papers = [r["papers"] for r in rows]

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for i, method in enumerate(METHODS):
        color = f"C{i}"
        ax.plot(chunks, [r["retrieval"][method]["p50_ms"] for r in rows], "o-", color=color, label=f"{method} p50")
        ax.plot(chunks, [r["retrieval"][method]["p95_ms"] for r in rows], "s--", color=color, label=f"{method} p95")
    ax.plot(chunks, [r["answer_extractive"]["p50_ms"] for r in rows], "o-", color="C3", label="extractive answer p50")
    ax.plot(chunks, [r["answer_extractive"]["p95_ms"] for r in rows], "s--", color="C3", label="extractive answer p95")
    ax.axhline(50, color="grey", lw=0.8, ls=":", label="50 ms (hybrid p95 target)")
    ax.set(xscale="log", yscale="log", xlabel="chunks in the store", ylabel="latency (ms, warm)",
           title="Retrieval and answer latency vs corpus size")
    ax.legend(fontsize=8, ncol=2)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(out_dir / "latency.png", dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.plot(papers, [r["peak_rss_ingest_mib"] for r in rows], "o-", label="peak RSS, ingest")
    ax.plot(papers, [r["peak_rss_mib"] for r in rows], "s-", label="peak RSS, ingest + queries")
    ax.plot(papers, [r["disk_bytes"]["total"] / 2**20 for r in rows], "^-", label="store on disk")
    ax.plot(papers, [r["cold_start"].get("peak_rss_mib", 0) for r in rows], "d:", label="peak RSS, new `ask` process")
    ax.set(xscale="log", yscale="log", xlabel="papers", ylabel="MiB", title="Memory and disk vs corpus size")
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(out_dir / "memory.png", dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for stage in STAGES:
        ax.plot(papers, [r["ingest"]["stage_papers_per_s"][stage] or 0 for r in rows], "o-", label=stage)
    ax.plot(papers, [r["ingest"]["papers_per_s"] if r["full_embedding"] else r["ingest"]["papers_per_s_estimated"]
                     for r in rows], "k^--", label="whole ingest (precomputed sizes: estimated)")
    ax.set(xscale="log", yscale="log", xlabel="papers", ylabel="papers/s",
           title="Ingest throughput by stage (2 shared cores)")
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(out_dir / "throughput.png", dpi=110)
    plt.close(fig)

    emb = results["embedding"]
    names = list(emb)
    fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3.5))
    left.bar(names, [emb[b]["abstracts_per_s"] for b in names], color=["C0", "C1", "C2"][: len(names)])
    left.set(ylabel="abstracts/s", title="Embedding speed")
    right.bar(names, [emb[b]["ndcg@10"] for b in names], color=["C0", "C1", "C2"][: len(names)])
    low = min(emb[b]["ndcg@10"] for b in names)
    right.set(ylabel="hybrid nDCG@10 (gold set)", title="Retrieval quality", ylim=(max(0.0, low - 0.1), 1.0))
    fig.tight_layout()
    fig.savefig(out_dir / "embedding.png", dpi=110)
    plt.close(fig)


# --- command line --------------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="1000,10000,100000", help="corpus sizes in papers (default 1000,10000,100000)")
    p.add_argument("--out", default=str(HERE / "bench"), help="where results.json, BENCHMARKS.md and plots go")
    p.add_argument("--smoke", action="store_true", help="tiny sizes and few queries: a check that it all runs")
    p.add_argument("--work", help="working directory for corpora and stores (default: a temporary one)")
    p.add_argument("--keep", action="store_true", help="keep the corpora and stores")
    p.add_argument("--full-embed-max", type=int, default=10_000,
                   help="largest size embedded in full; larger ones store precomputed vectors (default 10000)")
    p.add_argument("--embed-sample", type=int, default=1000, help="papers of each size embedded bare (default 1000)")
    p.add_argument("--queries", type=int, default=200, help="retrieval queries per method and size (default 200)")
    p.add_argument("--answers", type=int, default=100, help="extractive answers timed per size (default 100)")
    p.add_argument("--cold-runs", type=int, default=5, help="new `arxiv-qa ask` processes per store (default 5)")
    p.add_argument("--compare-abstracts", type=int, default=500, help="abstracts of the backend comparison")
    p.add_argument("--backends", default=",".join(BACKENDS), help="embedding backends to compare")
    p.add_argument("--repeat", type=int, default=2, help="timed passes over the comparison abstracts (best kept)")
    p.add_argument("--model-cache", help="where exported ONNX models live (default: the ARXIV_QA_MODEL_CACHE setting)")
    p.add_argument("--gold", default=str(HERE / "gold.jsonl"))
    p.add_argument("--gold-max", type=int, default=0,
                   help="answerable gold questions scored per backend, the first ones (0: all, the default)")
    p.add_argument("--server-size", type=int, default=100_000,
                   help="papers ingested into a `chroma run` server, precomputed vectors (0: skip; default 100000)")
    p.add_argument("--seed", type=int, default=0)
    # worker modes (one process per measurement; not for direct use)
    p.add_argument("--worker-size", type=int, help=argparse.SUPPRESS)
    p.add_argument("--worker-compare", help=argparse.SUPPRESS)
    p.add_argument("--corpus", help=argparse.SUPPRESS)
    p.add_argument("--store", help=argparse.SUPPRESS)
    p.add_argument("--texts", help=argparse.SUPPRESS)
    p.add_argument("--result", help=argparse.SUPPRESS)
    p.add_argument("--precomputed", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--chroma-url", help=argparse.SUPPRESS)
    opts = p.parse_args(argv)
    if opts.smoke:
        opts.sizes = "40,80" if opts.sizes == p.get_default("sizes") else opts.sizes
        opts.full_embed_max = 40 if opts.full_embed_max == p.get_default("full_embed_max") else opts.full_embed_max
        opts.embed_sample = min(opts.embed_sample, 20)
        opts.gold_max = opts.gold_max or 30
        opts.queries, opts.answers, opts.cold_runs = min(opts.queries, 20), min(opts.answers, 5), 1
        opts.compare_abstracts, opts.repeat = min(opts.compare_abstracts, 32), 1
        opts.server_size = 0 if opts.server_size == p.get_default("server_size") else opts.server_size
        if opts.backends == p.get_default("backends"):
            opts.backends = "onnx-int8"
    opts.sizes = [int(s) for s in str(opts.sizes).split(",") if s]
    opts.backends = [b for b in str(opts.backends).split(",") if b]
    if "onnx-int8" not in opts.backends:
        opts.backends.append("onnx-int8")  # the default backend is always measured (and serves the cold start)
    if any(b not in BACKENDS for b in opts.backends):
        p.error(f"--backends: choose from {', '.join(BACKENDS)}")
    if opts.model_cache is None:
        from qa.settings import Settings

        opts.model_cache = str(Settings(_env_file=None).model_cache.expanduser())  # type: ignore[call-arg]
    return opts


def main(argv: list[str] | None = None) -> None:
    opts = parse_args(argv)
    if opts.worker_size or opts.worker_compare:
        result = measure_size(opts) if opts.worker_size else compare_backend(opts)
        Path(opts.result).write_text(json.dumps(result))
        return
    results = main_run(opts)
    for name, check in results["checks"].items():
        print(f"{'met' if check['met'] else 'NOT MET':8} {name}: {check['value']}")


if __name__ == "__main__":
    main()
