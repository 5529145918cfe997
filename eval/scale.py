"""The scale benchmark: one store grown towards a million papers, measured as it grows (not in CI).

Measured at 1,000,000 papers on 2026-12-02 (eval/bench/BENCHMARKS.md, "One store grown by eval/scale.py").

`eval/bench.py` measures fresh stores of a few sizes; this grows ONE store, a shard of synthetic
Kaggle-layout papers (eval/synth.py) at a time, with precomputed vectors (bench.py's: the real
model's vectors of a sample, reused with noise), so a million papers fit in hours rather than days.
Each step is resumable: a shard already ingested is skipped (the catalog records it).

    python eval/scale.py ingest  --work /big/disk --papers 1000000   # write and ingest shards of 100k, one by one
    python eval/scale.py measure --work /big/disk                    # BM25 build, queries, cold ask, server
    python eval/scale.py added   --work /big/disk                    # 1,000 new papers: big store vs empty
    python eval/scale.py added   --work /big/disk --real-embed       # the same, embedded by the model

The shards are written as they are needed. Every phase appends its figures to <work>/scale.json
(with the date and the load), each worker in its own process so that its peak RSS is its own.
`make bench-scale` runs all three.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

import bench  # noqa: E402
import synth  # noqa: E402
from servers import free_port, start_chroma  # noqa: E402

from qa.index.bm25_segments import SEGMENT_ROWS  # noqa: E402

SHARD = 100_000  # papers per corpus file: the store can be measured after any whole shard
ADDED = 1_000  # papers of the incremental-ingest measurement
ADDED_FROM = 2_000_000  # their record numbers (the generator's IDs wrap: `added_corpus` gives them new ones)
RECALL_QUERIES = 50  # questions whose nearest chunks are found by scoring every vector, to check the graphs


def generate(work: Path, shard: int, seed: int, size: int = SHARD) -> Path:
    """Shard `shard` of the corpus: records from shard*SHARD on, with a generator of its own."""
    path = work / "corpus" / f"shard-{shard:02d}.jsonl"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        rng = random.Random(seed * 1000 + shard)
        _write(path, (synth.record(n, rng) for n in range(shard * size, (shard + 1) * size)))
    return path


def added_corpus(work: Path, seed: int, run: int = 0) -> Path:
    """The 1,000 papers of the `run`-th incremental-ingest measurement (IDs no shard and no earlier run has:
    the grown store keeps each run's papers)."""
    path = added_path(work, run)
    if not path.exists():
        rng = random.Random(seed + 99 + run)
        first = ADDED_FROM + run * ADDED
        _write(path, (_renumbered(synth.record(n, rng), run * ADDED + i)
                      for i, n in enumerate(range(first, first + ADDED))))
    return path


def added_path(work: Path, run: int) -> Path:
    return work / "corpus" / ("added.jsonl" if run == 0 else f"added-{run}.jsonl")


def _renumbered(record: dict[str, Any], number: int) -> dict[str, Any]:
    """`record` under an ID of a month after every shard's (the synthetic IDs repeat every 1.1M records, and
    an old-style one every 40th), so ingesting it adds a paper instead of changing one already stored."""
    return {**record, "id": f"{2601 + number // 100_000}.{number % 100_000:05d}"}


def _write(path: Path, records: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for rec in records:
            f.write(json.dumps(rec) + "\n")
    tmp.replace(path)


def append_result(work: Path, phase: str, row: dict[str, Any]) -> None:
    path = work / "scale.json"
    rows = json.loads(path.read_text()) if path.exists() else []
    rows.append({"phase": phase, "date": datetime.now(UTC).isoformat(timespec="seconds"),
                 "load1": os.getloadavg()[0], "cpu": bench.machine()["cpu"], **row})
    path.write_text(json.dumps(rows, indent=1))
    print(json.dumps(rows[-1]), file=sys.stderr, flush=True)


def open_store(store_dir: Path, model_cache: Path, chroma_url: str | None = None, sample: int = 300,
               model_embeds: bool = False, **more: Any) -> Any:
    """A Writer whose text vectors are precomputed (bench.precomputed_embedder) and queries real; `model_embeds`:
    the model embeds the texts too, as a user's ingest does. `more`: other settings."""
    from qa.index.writer import Writer
    from qa.ingest.merge import as_new

    store = Writer(bench.make_settings(store_dir, model_cache, chroma_url=chroma_url, **more))
    if model_embeds:
        return store
    real = store.llamaindex_embedding()
    records = [as_new(p) for p in islice(_sample_papers(), sample)]
    pool = real.get_text_embedding_batch([c.text for p in records for c in store.chunker.chunks(p)])
    store.__dict__["_embedder"] = bench.precomputed_embedder(real, pool)  # replaces the cached property
    return store


def _sample_papers() -> Any:
    from qa.ingest.sources import read_papers

    sample = Path(os.environ.get("TMPDIR", "/tmp")) / f"scale-sample-{os.getpid()}.jsonl"
    synth.write_snapshot(sample, 300, seed=12345)
    try:
        yield from read_papers(sample)
    finally:
        sample.unlink(missing_ok=True)


def peak_rss_mib() -> float:
    """This process's peak RSS since it started: VmHWM (ru_maxrss would carry the parent's over fork and exec)."""
    return (_status_kib("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / 1024


def ingest_shards(opts: argparse.Namespace) -> None:
    """Grow the store shard by shard; one row per shard (its time, the store's size, this process's peak)."""
    from qa.ingest import ingest

    work = Path(opts.work)
    # One Chroma collection, as a store grown before shards: `measure` serves its folder with `chroma run`, which
    # serves one folder. The `added` phase then writes with the default shard size, into a new shard.
    store = open_store(work / "store", Path(opts.model_cache), shard_chunks=10**9)
    for shard in range(-(-opts.papers // opts.shard)):
        path = generate(work, shard, opts.seed, opts.shard)
        if store.file_done(str(path), _sha(path)):
            continue
        start = time.perf_counter()
        report = ingest(store, [str(path)])
        seconds = time.perf_counter() - start
        if report.errors:
            raise SystemExit(f"ingest reported errors: {report.errors[:3]}")
        papers = len(store.paper_keys())
        append_result(work, "ingest", {"shard": path.name, "shard_papers": opts.shard, "seconds": round(seconds, 1),
                                       "papers_per_s": round(opts.shard / seconds, 1), "papers": papers,
                                       "chunks": store.chunk_count(), "peak_rss_mib": round(peak_rss_mib(), 1),
                                       "disk_bytes": bench.disk_usage(work / "store")})


def _sha(path: Path) -> str:
    from qa.ingest.pipeline import file_sha256

    return str(file_sha256(path))


def worker(opts: argparse.Namespace) -> dict[str, Any]:
    """One measurement in this process (so its peak RSS is its own): `bm25` or `answer`."""
    from qa.index.retrieve import Retriever
    from qa.index.store import Store

    store_dir = Path(opts.work) / "store"
    if opts.worker == "bm25":  # the build, from the vector store, as the first question after an ingest does it
        store = Store(bench.make_settings(store_dir, Path(opts.model_cache)))
        shutil.rmtree(store_dir / "bm25", ignore_errors=True)
        store.chunk_count()  # Chroma opened before: its fixed cost is not the build's
        start = time.perf_counter()
        with bench.RssPeak() as rss:
            index = store.lexicon()
        out = {"chunks": index.live, "segments": len(index.segments), "build_s": round(time.perf_counter() - start, 1),
               "rss_before_mib": round(rss.before / 2**20, 1),
               "rss_increase_mib": round((rss.peak - rss.before) / 2**20, 1)}
        start = time.perf_counter()
        Store(store.settings).lexicon()  # as a new process opens it
        out["load_s"] = round(time.perf_counter() - start, 3)
        out["disk_bytes"] = bench.disk_usage(store_dir / "bm25")["total"]
    elif opts.worker == "dense":  # the memory-mapped view, built from the vector store as a first question does
        store = Store(bench.make_settings(store_dir, Path(opts.model_cache)))
        shutil.rmtree(store_dir / "dense", ignore_errors=True)
        store.lexicon()  # loaded before: the view's build is timed alone
        start = time.perf_counter()
        with bench.RssPeak() as rss:
            view = store.dense_view()
        if view is None:
            raise SystemExit("the dense view was not built (store too small, or the vector store unreadable)")
        out = {"parts": len(view.parts), "build_s": round(time.perf_counter() - start, 1),
               "rss_before_mib": round(rss.before / 2**20, 1),
               "rss_increase_mib": round((rss.peak - rss.before) / 2**20, 1)}
        fresh = Store(store.settings)
        fresh.lexicon()
        start = time.perf_counter()
        fresh.dense_view(build=True)  # as a new process opens it
        out["load_s"] = round(time.perf_counter() - start, 3)
        out["disk_bytes"] = bench.disk_usage(store_dir / "dense")["total"]
        out.update(_recall(store, view, synth.queries(RECALL_QUERIES, seed=opts.seed + 2)))
    else:  # warm retrieval latency of each method, as a server answering questions sees it
        store = Store(bench.make_settings(store_dir, Path(opts.model_cache), chroma_url=opts.chroma_url,
                                          dense_view=not opts.no_view))
        retriever = Retriever(store)
        questions = synth.queries(opts.queries, seed=opts.seed + 1)
        out = {"chroma": "server" if opts.chroma_url else "embedded", "dense_view": store.dense_view() is not None,
               "chunks": store.lexicon().live}
        for method in bench.METHODS:
            for q in questions[:5]:
                retriever.retrieve(q, method=method)
            times = []
            for q in questions:
                start = time.perf_counter()
                retriever.retrieve(q, method=method)
                times.append(time.perf_counter() - start)
            out[method] = bench.latency(times)
    out["peak_rss_mib"] = round(peak_rss_mib(), 1)
    out["rss_file_mib"] = round(_status_kib("RssFile") / 1024, 1)  # mapped files (BM25 segments...): page cache
    return out


def _recall(store: Any, view: Any, questions: list[str], k: int = 10) -> dict[str, Any]:
    """Recall@k of the dense view's graph search and of Chroma's, against every stored vector scored (the view's
    float16 copies, part by part)."""
    import numpy as np

    vectors = np.array([store.embed_query(q) for q in questions], dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    best: list[list[tuple[float, str]]] = [[] for _ in questions]
    for part, start, segment in zip(view.parts, view.index.starts, view.index.segments, strict=True):
        live = np.asarray(part.has) & ~view.index.dead[start : start + segment.rows]
        rows = np.flatnonzero(live)
        sims = np.asarray(part.vectors[rows], dtype=np.float32) @ vectors.T
        for q in range(len(questions)):
            top = np.argpartition(-sims[:, q], k)[:k] if len(rows) > k else np.arange(len(rows))
            best[q] = sorted(best[q] + [(-float(sims[t, q]), segment.ids[int(rows[t])]) for t in top])[:k]
    exact = [{i for _, i in b} for b in best]
    found_view = [{i for i, _ in view.search(list(v), k)} for v in vectors]
    found_chroma = [{i for i, _ in store._chroma.nearest_ids(list(map(float, v)), k)} for v in vectors]
    return {"recall_queries": len(questions),
            "recall_view": round(sum(len(a & b) for a, b in zip(found_view, exact, strict=True)) / k / len(exact), 3),
            "recall_chroma": round(sum(len(a & b) for a, b in zip(found_chroma, exact, strict=True)) / k / len(exact),
                                   3)}


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def run(opts: argparse.Namespace, name: str, *extra: str) -> dict[str, Any]:
    result = Path(opts.work) / f"worker-{name}.json"
    args = ["--worker", name, "--work", opts.work, "--model-cache", opts.model_cache, "--queries", str(opts.queries),
            *extra]
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "measure", *args, "--result", str(result)],
                          text=True, capture_output=True)
    if proc.returncode != 0:
        raise SystemExit(f"worker {name} failed:\n{proc.stderr[-3000:]}")
    row: dict[str, Any] = json.loads(result.read_text())
    return row


def measure(opts: argparse.Namespace) -> None:
    """The grown store: BM25 build, warm latency and cold `ask`, with embedded Chroma and a Chroma server."""
    work = Path(opts.work)
    store = work / "store"
    if not opts.no_build:
        append_result(work, "bm25_build", run(opts, "bm25"))
        append_result(work, "dense_build", run(opts, "dense"))
    row = run(opts, "answer", "--no-view")  # embedded Chroma searched itself, as before the dense view
    row["cold_start"] = bench.cold_start(store, Path(opts.model_cache), opts.cold_runs, dense_view=False)
    append_result(work, "answer_embedded_chroma", row)
    row = run(opts, "answer")
    row["cold_start"] = bench.cold_start(store, Path(opts.model_cache), opts.cold_runs)
    append_result(work, "answer_embedded", row)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start_chroma(store / "chroma", port)
    try:
        with bench.RssPeak(proc.pid, every=0.2) as server:
            row = run(opts, "answer", "--chroma-url", url)
            row["cold_start"] = bench.cold_start(store, Path(opts.model_cache), opts.cold_runs, chroma_url=url)
        row["server_peak_rss_mib"] = round(server.peak / 2**20, 1)
        row["server_rss_at_start_mib"] = round(server.before / 2**20, 1)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    append_result(work, "answer_server", row)


def added(opts: argparse.Namespace) -> None:
    """Ingest the same 1,000 new papers into an empty store and into the grown one; then the BM25 update."""
    from qa.ingest import ingest

    work = Path(opts.work)
    done = json.loads((work / "scale.json").read_text()) if (work / "scale.json").exists() else []
    run = sum(r["phase"] == "added" for r in done)
    while added_path(work, run).exists():  # made (and so ingested) by another run, e.g. a profile of one
        run += 1
    path = added_corpus(work, opts.seed, run)
    shutil.rmtree(work / "empty-store", ignore_errors=True)
    row: dict[str, Any] = {"papers": ADDED, "embedding": "model" if opts.real_embed else "precomputed",
                           "opened": "as a writer"}  # Chroma's newest shard, not every shard's index
    for name in ("empty-store", "store"):
        store = open_store(work / name, Path(opts.model_cache), model_embeds=opts.real_embed)
        store.lexicon()  # up to date before: the update below is the added papers' only
        start = time.perf_counter()  # what any writing process opens once: Chroma's shard it writes to, the view
        store.open_vectors()
        store.dense_search(store.embed_query("warm up"), 1)
        row[f"{name}_open_s"] = round(time.perf_counter() - start, 2)
        caught: list[float] = []
        catch_up = store._catch_up_view

        def timed_catch_up(catch_up: Any = catch_up, caught: list[float] = caught) -> None:
            begun = time.perf_counter()
            catch_up()
            caught.append(time.perf_counter() - begun)

        store.__dict__["_catch_up_view"] = timed_catch_up  # the end of the write: the dense view brought up to date
        start = time.perf_counter()
        ingest(store, [str(path)])
        row[f"{name}_ingest_s"] = round(time.perf_counter() - start, 2)
        row[f"{name}_view_catch_up_s"] = round(sum(caught), 2)
        start = time.perf_counter()
        index = store.lexicon()
        row[f"{name}_bm25_update_s"] = round(time.perf_counter() - start, 2)
        row[f"{name}_chunks"] = index.live
    row["ratio"] = round(row["store_ingest_s"] / row["empty-store_ingest_s"], 2)
    row["ratio_with_open"] = round((row["store_ingest_s"] + row["store_open_s"])
                                   / (row["empty-store_ingest_s"] + row["empty-store_open_s"]), 2)
    shutil.rmtree(work / "empty-store", ignore_errors=True)
    row["peak_rss_mib"] = round(peak_rss_mib(), 1)  # this process: both ingests, and what each opened
    append_result(work, "added", row)


# --- the report: a section of eval/bench/BENCHMARKS.md, between markers ----------------------------
BEGIN, END = "<!-- scale: written by eval/scale.py report -->", "<!-- /scale -->"  # markers("scale")
SNAPSHOT = 2_700_000


def _last(rows: list[dict[str, Any]], phase: str) -> dict[str, Any]:
    return next(r for r in reversed(rows) if r["phase"] == phase)


def _cpu(rows: list[dict[str, Any]]) -> str:
    """The CPU the rows were measured on (rows written before it was recorded: the benchmark's machine above)."""
    cpus = {r["cpu"] for r in rows if r.get("cpu")}
    return f"an {cpus.pop()}" if len(cpus) == 1 else "the machine above"


def _mib(x: float) -> str:
    return f"{x / 1024:.2f} GiB" if x >= 1024 else f"{x:,.0f} MiB"


def _runs(added: list[dict[str, Any]], last: dict[str, Any]) -> str:
    """A line on every run of `last`'s method (newest first in `added`), when there were several: each one's ratio,
    and the slowest catch-up (the ingest that merged the small BM25 segments into one, whose part of the
    dense view is then built: one ingest in about eight)."""
    same = [r for r in reversed(added) if r.get("embedding", "precomputed") == "precomputed"
            and r.get("opened") == last.get("opened")]
    if len(same) < 2:
        return ""
    slowest = max(same, key=lambda r: r.get("store_view_catch_up_s", 0))
    return (f"Over the {len(same)} runs measured so, in order, the ratios were "
            + ", ".join(f"{r['ratio']:.2f}x" for r in same)
            + f"; the slowest catch-up took {slowest.get('store_view_catch_up_s', 0):.2f} s (an ingest that merged "
            "the small BM25 segments into one, whose part of the dense view it then built).\n")


def markers(section: str) -> tuple[str, str]:
    """The lines around a report's section of BENCHMARKS.md (`scale`: the default one, BEGIN and END)."""
    return f"<!-- {section}: written by eval/scale.py report -->", f"<!-- /{section} -->"


def report(work: Path, target: Path, section: str = "scale") -> str:
    """The section on the grown store, from <work>/scale.json; written into `target` between the markers of
    `section` (another name: a section of its own, e.g. a run at another size beside the last 1 M one)."""
    begin, end = markers(section)
    rows = json.loads((work / "scale.json").read_text())
    shards = [r for r in rows if r["phase"] == "ingest"]
    grown, build = shards[-1], _last(rows, "bm25_build")
    emb, srv = _last(rows, "answer_embedded"), _last(rows, "answer_server")
    view = emb.get("dense_view", False)  # rows written before the dense view: embedded Chroma searched itself
    dense = _last(rows, "dense_build") if view else None
    plain = next((r for r in reversed(rows) if r["phase"] == "answer_embedded_chroma"), None) if view else None
    added = [r for r in reversed(rows) if r["phase"] == "added"]
    add = next(r for r in added if r.get("embedding", "precomputed") == "precomputed")
    real = next((r for r in added if r.get("embedding") == "model"), None)
    papers, chunks = grown["papers"], grown["chunks"]
    per_chunk = chunks / papers
    snap_chunks = SNAPSHOT * per_chunk

    ask_e, ask_s = emb["cold_start"]["peak_rss_mib"], srv["cold_start"]["peak_rss_mib"]
    met = {True: "yes", False: "**no**"}
    at = f"at {papers:,} papers" if papers < 1_000_000 else "at 1 M papers"
    targets = [
        ("BM25 build adds ≤ 1 GiB", f"+{_mib(build['rss_increase_mib'])}", build["rss_increase_mib"] <= 1024),
        ("answering process against a Chroma server ≤ 1.5 GiB RSS", _mib(max(srv["peak_rss_mib"], ask_s)),
         max(srv["peak_rss_mib"], ask_s) <= 1536),
        ("answering process with embedded Chroma ≤ 5 GiB RSS", _mib(max(emb["peak_rss_mib"], ask_e)),
         max(emb["peak_rss_mib"], ask_e) <= 5120),
        ("hybrid p95 ≤ 50 ms, embedded", f"{emb['hybrid']['p95_ms']:.1f} ms", emb["hybrid"]["p95_ms"] <= 50),
        ("hybrid p95 ≤ 50 ms, Chroma server", f"{srv['hybrid']['p95_ms']:.1f} ms", srv["hybrid"]["p95_ms"] <= 50),
        ("cold `ask` ≤ 3 s, embedded", f"{emb['cold_start']['median_s']:.2f} s", emb["cold_start"]["median_s"] <= 3),
        ("cold `ask` ≤ 3 s, Chroma server", f"{srv['cold_start']['median_s']:.2f} s",
         srv["cold_start"]["median_s"] <= 3),
        ("1,000 papers into the grown store ≤ 2x into an empty one (store open)", f"{add['ratio']:.2f}x",
         add["ratio"] <= 2),
        ("the same, counting what the writer opens first" if add.get("opened") else
         "the same, counting the vector index's first load", f"{add.get('ratio_with_open', add['ratio']):.2f}x",
         add.get("ratio_with_open", add["ratio"]) <= 2),
    ]
    if real:
        seconds = f"{real['store_ingest_s']:.0f} s vs {real['empty-store_ingest_s']:.0f} s"
        targets.append(("the same, the papers embedded by the model as a user's ingest does (store open)",
                        f"{real['ratio']:.2f}x ({seconds})", real["ratio"] <= 2))
    disk = grown["disk_bytes"]
    bench_results = json.loads((HERE / "bench" / "results.json").read_text())
    embed_rate = float(bench_results["sizes"][-1]["bare_embed"]["papers_per_s"])
    rates = ", ".join(f"{r['papers_per_s']:.0f}" for r in shards)
    lines = [
        begin,
        "## One store grown by `eval/scale.py` (measured)\n" if section == "scale" else
        f"## One store grown by `eval/scale.py` to {papers:,} papers: {section} (measured)\n",
        f"Measured {rows[0]['date'][:10]} on {_cpu(rows)} (2 cores; load average "
        f"{min(r['load1'] for r in rows):.1f}-{max(r['load1'] for r in rows):.1f} when each phase ended): one "
        f"store grown shard by shard to **{papers:,} papers ({chunks:,} chunks)** of the synthetic "
        "Kaggle-layout corpus, with precomputed vectors. "
        + ("The target size is 1,000,000 papers; "
           f"this run reached {papers:,} in the time it had, so every figure below is at that size and the "
           "1 M row is not measured. " if papers < 1_000_000 else "")
        + "Peak RSS is each worker process's own (`VmHWM`), each `ask` process's `ru_maxrss`, the Chroma "
        "server's sampled with psutil. Warm latency is over "
        f"{emb['hybrid']['n']} synthetic questions per method after 5 warm-up ones; a cold `ask` is a new "
        "`arxiv-qa ask` process, page cache warm (the store was just used), median of "
        f"{len(emb['cold_start']['runs_s'])} runs.\n",
        f"| target ({at}) | measured | met |", "|---|---:|---:|",
        *[f"| {t} | {m} | {met[ok]} |" for t, m, ok in targets],
        "",
        "| process | peak RSS |", "|---|---:|",
        f"| ingest (whole run, embedded Chroma, precomputed vectors) | {_mib(grown['peak_rss_mib'])} |",
        f"| BM25 build from the vector store ({build['chunks']:,} chunks, {build['segments']} segments, "
        f"{build['build_s']:.0f} s; +{_mib(build['rss_increase_mib'])} over the {_mib(build['rss_before_mib'])} "
        f"before it; reloads in {build['load_s'] * 1000:.0f} ms) | {_mib(build['peak_rss_mib'])} |",
        *([f"| dense view build from the vector store ({dense['parts']} parts, {dense['build_s']:.0f} s; "
           f"+{_mib(dense['rss_increase_mib'])} over the {_mib(dense['rss_before_mib'])} before it, Chroma's "
           f"index loaded to read the vectors; opens in {dense['load_s'] * 1000:.0f} ms; recall@10 of its graph "
           f"{dense.get('recall_view', 0):.3f}, of Chroma's {dense.get('recall_chroma', 0):.3f}, where every chunk "
           "vector is one of a few hundred real ones plus noise, so each has a thousand near-twins: a hard "
           "case for a graph) | "
           f"{_mib(dense['peak_rss_mib'])} |"] if dense else []),
        f"| answering, embedded{' (the dense view)' if view else ' Chroma'} (warm queries; at the end "
        f"{_mib(emb.get('rss_file_mib', 0))} of it mapped files, the page cache of the BM25 segments"
        f"{' and the view' if view else ''}) | {_mib(emb['peak_rss_mib'])} |",
        *([f"| answering, embedded Chroma searched itself (the view off; {_mib(plain.get('rss_file_mib', 0))} "
           f"mapped files) | {_mib(plain['peak_rss_mib'])} |"] if plain else []),
        f"| answering against a Chroma server (client) | {_mib(srv['peak_rss_mib'])} |",
        f"| the Chroma server while it answered | {_mib(srv['server_peak_rss_mib'])} |",
        f"| cold `arxiv-qa ask`, embedded{' (the dense view)' if view else ''} "
        f"({emb['cold_start']['median_s']:.2f} s median) | {_mib(ask_e)} |",
        *([f"| cold `arxiv-qa ask`, embedded, the view off ({plain['cold_start']['median_s']:.2f} s median) | "
           f"{_mib(plain['cold_start']['peak_rss_mib'])} |"] if plain else []),
        f"| cold `arxiv-qa ask` against the server ({srv['cold_start']['median_s']:.2f} s median) | {_mib(ask_s)} |",
        "",
        "| warm latency p50 / p95 | bm25 | dense | hybrid |", "|---|---:|---:|---:|",
        *[f"| {name} | " + " | ".join(f"{r[m]['p50_ms']:.1f} / {r[m]['p95_ms']:.1f} ms" for m in bench.METHODS) + " |"
          for name, r in (("embedded" + (" (the dense view)" if view else ""), emb),
                          *((("embedded, the view off", plain),) if plain else ()), ("Chroma server", srv))],
        "",
        f"Ingest: {rates} papers/s per shard of {shards[0]['shard_papers']:,} (no "
        f"embedding: precomputed vectors); store on disk {_mib(disk['total'] / 2**20)} (Chroma "
        f"{_mib(disk.get('chroma', 0) / 2**20)}, catalog {_mib(disk.get('catalog', 0) / 2**20)}, BM25 "
        f"{_mib(build['disk_bytes'] / 2**20)}"
        + (f", and then the dense view {_mib(dense['disk_bytes'] / 2**20)}" if dense else "")
        + f"). The same {add['papers']:,} new papers took "
        f"{add['store_ingest_s']:.1f} s into the grown store and {add['empty-store_ingest_s']:.1f} s into an "
        f"empty one ({add['ratio']:.2f}x), "
        + ("once each store was open as a writer opens it (Chroma's newest shard, where new chunks go, and the "
           "dense view: " if add.get("opened") else "once each store's vector index was loaded (a first search: ")
        + f"{add.get('store_open_s', 0):.1f} s for the grown one, {add.get('empty-store_open_s', 0):.2f} s for the "
        f"empty one); "
        + (f"at its end the ingest brought the BM25 index and the dense view up to date in "
           f"{add['store_view_catch_up_s']:.2f} s of that (one more segment and part, no rebuild).\n"
           if add.get("store_view_catch_up_s") else
           f"the BM25 index then caught up in {add['store_bm25_update_s']:.2f} s (one more segment, no rebuild).\n")
        + _runs(added, add)
        + (f"The process of that run (both ingests, the stores opened as a writer opens them) peaked at "
           f"{_mib(add['peak_rss_mib'])}.\n" if add.get("peak_rss_mib") else ""),
        f"**The snapshot ({SNAPSHOT / 1e6:.1f} M papers, ≈ {snap_chunks / 1e6:.1f} M chunks at this corpus's "
        f"{per_chunk:.2f} chunks per paper), carried linearly from this size** (arithmetic from the figures "
        "above, not measured on the snapshot itself):\n",
        f"- **Hours on this machine (2 cores).** Embedding: {embed_rate:.0f} papers/s (ONNX int8, the model "
        f"alone, measured by `eval/bench.py` above), so {SNAPSHOT / embed_rate / 3600:.1f} h. Everything else "
        f"(parse, merge, chunk, Chroma, catalog) ran at {grown['papers_per_s']:.0f} papers/s over the last "
        f"shard here, {SNAPSHOT / grown['papers_per_s'] / 3600:.1f} h alone. Ingest embeds ahead in a background "
        "thread, but on two cores the two compete, so the snapshot takes between "
        f"{max(SNAPSHOT / embed_rate, SNAPSHOT / grown['papers_per_s']) / 3600:.0f} and "
        f"{(SNAPSHOT / embed_rate + SNAPSHOT / grown['papers_per_s']) / 3600:.0f} h.",
        "- **With 8 cores.** The model runs on every physical core, so embedding takes about a quarter, "
        f"{SNAPSHOT / embed_rate / 4 / 3600:.1f} h; the rest of the pipeline uses about one core and becomes the "
        f"limit: ≈ {max(SNAPSHOT / embed_rate / 4, SNAPSHOT / grown['papers_per_s']) / 3600:.1f} h.",
        "- **With a GPU** (`ARXIV_QA_EMBED_BACKEND=torch` on a CUDA machine): embedding stops counting, and the "
        f"rest sets the pace: ≈ {SNAPSHOT / grown['papers_per_s'] / 3600:.1f} h.",
        f"- **Disk** ≈ {_mib(disk['total'] / 2**20 / papers * SNAPSHOT)} (Chroma "
        f"{_mib(disk.get('chroma', 0) / 2**20 / papers * SNAPSHOT)}, catalog "
        f"{_mib(disk.get('catalog', 0) / 2**20 / papers * SNAPSHOT)}, BM25 "
        f"{_mib(build['disk_bytes'] / 2**20 / papers * SNAPSHOT)}"
        + (f", dense view {_mib(dense['disk_bytes'] / 2**20 / papers * SNAPSHOT)}" if dense else "")
        + "), plus the snapshot file (about 4 GB).",
        f"- **Peak RAM.** The BM25 build holds one segment of {SEGMENT_ROWS:,} chunks at a time: "
        f"+{_mib(build['rss_increase_mib'])} here, bounded by design (tested at small sizes, "
        "`tests/test_bm25_streamed.py`), taking "
        f"≈ {build['build_s'] / chunks * snap_chunks / 60:.0f} min at this run's pace, once; each ingest then adds "
        "a segment. The processes that hold Chroma's HNSW index grow with the chunks: the ingest process "
        f"(embedded) ≈ {_mib(grown['peak_rss_mib'] * SNAPSHOT / papers)}, "
        + (f"the dense view's build (once) ≈ {_mib(dense['peak_rss_mib'] * SNAPSHOT / papers)}, an answering "
           "process with embedded Chroma searched by itself "
           f"≈ {_mib(max(plain['peak_rss_mib'], plain['cold_start']['peak_rss_mib']) * SNAPSHOT / papers)} "
           "(with the dense view it holds no index: what it maps stays in the page cache, which the kernel "
           "reclaims; " f"{_mib(max(emb['peak_rss_mib'], ask_e))} measured here), " if dense and plain else
           f"an answering process with embedded Chroma ≈ {_mib(max(emb['peak_rss_mib'], ask_e) * SNAPSHOT / papers)}, ")
        + "the Chroma server "
        f"≈ {_mib(srv['server_peak_rss_mib'] * SNAPSHOT / papers)} (all carried linearly from here: an upper "
        "bound, as part of each is fixed). A client of a Chroma server keeps the model, the catalog on disk "
        f"and 13 bytes per chunk of BM25 state ({snap_chunks * 13 / 2**20:.0f} MiB): "
        f"{_mib(max(srv['peak_rss_mib'], ask_s))} measured here.",
        "- **A 16 GiB workstation**: run the Chroma server (`chroma run --path /big/disk/chroma`) on another "
        "host, or on the workstation only if the server's figure above fits beside the rest, and point "
        "`ARXIV_QA_CHROMA_URL` at it; ingest, `ask` and `serve` then stay near the client figure, and the "
        "catalog and BM25 index stay on the workstation's disk."
        + (" An embedded store answers with the dense view near that figure too. A process writing an embedded "
           "store holds the index of each Chroma shard it writes to (and the view's first build, of every "
           "shard): one ingest of the whole snapshot needs the RAM above"
           + (f", while a later ingest of new papers opens only the newest shard ({_mib(add['peak_rss_mib'])} "
              "for 1,000 papers here)." if add.get("peak_rss_mib") else ".") if view
           else ""),
        "",
        ("Reproduce: `make bench-scale` (= `python eval/scale.py all --work DIR --papers 1000000`), then "
         "`python eval/scale.py report --work DIR`." if section == "scale" else
         f"Reproduce: `python eval/scale.py ingest --work DIR --papers {papers}`, then `measure` and `added` with "
         f"the same `--work`, then `python eval/scale.py report --work DIR --section \"{section}\"` (the rows of "
         f"this run: eval/bench/scale-{section.replace(' ', '-')}.json)."),
        end,
    ]
    text = "\n".join(lines) + "\n"
    old = target.read_text() if target.exists() else ""
    if begin in old:  # in place of the last one
        target.write_text(old[: old.index(begin)] + text + old[old.index(end) + len(end) + 1 :])
        return text
    anchor = old.find("## Method")
    target.write_text(old[:anchor] + text + "\n" + old[anchor:] if anchor >= 0 else old + "\n" + text)
    return text


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("phase", choices=["ingest", "measure", "added", "report", "all"])
    p.add_argument("--work", required=True, help="where the corpus, the store and scale.json go (tens of GB)")
    p.add_argument("--papers", type=int, default=1_000_000, help="papers to grow the store to (default 1,000,000)")
    p.add_argument("--queries", type=int, default=200, help="retrieval queries per method (default 200)")
    p.add_argument("--cold-runs", type=int, default=3, help="new `arxiv-qa ask` processes per setup (default 3)")
    p.add_argument("--shard", type=int, default=SHARD, help=f"papers per corpus file (default {SHARD:,})")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--real-embed", action="store_true",
                   help="added: the model embeds the 1,000 papers (default: precomputed vectors, storage cost only)")
    p.add_argument("--no-build", action="store_true",
                   help="measure: skip the BM25 build from scratch (the report keeps its last build row)")
    p.add_argument("--model-cache", default=None, help="exported ONNX models (default: the setting's)")
    p.add_argument("--section", default="scale",
                   help="report: the BENCHMARKS.md section to write (default `scale`; another name adds a section)")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--no-view", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--chroma-url", help=argparse.SUPPRESS)
    p.add_argument("--result", help=argparse.SUPPRESS)
    opts = p.parse_args(argv)
    if opts.model_cache is None:
        from qa.settings import Settings

        opts.model_cache = str(Settings(_env_file=None).model_cache.expanduser())  # type: ignore[call-arg]
    return opts


def main(argv: list[str] | None = None) -> None:
    opts = parse_args(argv)
    work = Path(opts.work).resolve()
    opts.work = str(work)
    if opts.worker:
        Path(opts.result).write_text(json.dumps(worker(opts)))
        return
    if opts.phase == "all":  # each phase in a process of its own: a small parent for the cold starts' RSS
        for phase in ("ingest", "measure", "added", "report"):
            subprocess.run([sys.executable, __file__, phase, *(argv if argv is not None else sys.argv[1:])[1:]],
                           check=True)
    elif opts.phase == "ingest":
        ingest_shards(opts)
    elif opts.phase == "measure":
        measure(opts)
    elif opts.phase == "added":
        added(opts)
    else:
        print(report(work, HERE / "bench" / "BENCHMARKS.md", opts.section))


if __name__ == "__main__":
    main()
