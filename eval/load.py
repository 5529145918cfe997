"""A bounded load generator for a served arxiv-qa: concurrent chat requests, then it stops by itself.

It starts `arxiv-qa serve` on 127.0.0.1 (a free port, the given store), fires a fixed number of
requests at POST /api/ask and at the Gradio queue (`/ask` through gradio_client) from `--clients`
threads at once, and reports errors, latency p50/p95 and the server's peak memory as JSON.

    .venv/bin/python eval/load.py --store .arxiv-qa --requests 50 --clients 50 --concurrency 2
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from servers import free_port

from qa.evaluation.evaluate import percentile

REQUEST_TIMEOUT = 300  # seconds one request may take before the load run counts it as an error

QUESTIONS = [
    "What model sizes does the Qwen3 Embedding series come in?",
    "How many languages does Qwen3 support?",
    "What is Group Sequence Policy Optimization?",
    "Which papers are about long context?",
    "What does arXiv:2506.01939 find?",
    "Which paper predicts protein folding?",
    "How much data was Qwen2.5-Coder pretrained on?",
    "What does Qwen-Image do well?",
]


def start_server(store: Path, port: int, concurrency: int, model_cache: Path | None = None) -> subprocess.Popen[bytes]:
    """`arxiv-qa serve` in a new process, once /api/healthz answers."""
    env = {**os.environ, "ARXIV_QA_STORE": str(store), "ARXIV_QA_CONCURRENCY_LIMIT": str(concurrency)}
    if model_cache is not None:
        env["ARXIV_QA_MODEL_CACHE"] = str(model_cache)
    proc = subprocess.Popen([sys.executable, "-m", "ui.cli", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/healthz", timeout=2).read()
            return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("the server did not start")


class PeakMemory:
    """Samples a process's resident memory (with its children) until stopped."""

    def __init__(self, pid: int) -> None:
        import psutil

        self.proc = psutil.Process(pid)
        self.peak = 0
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        import psutil

        while self.running:
            try:
                rss = self.proc.memory_info().rss + sum(c.memory_info().rss for c in self.proc.children(True))
            except psutil.Error:
                return
            self.peak = max(self.peak, rss)
            time.sleep(0.05)

    def stop(self) -> int:
        self.running = False
        self.thread.join()
        return self.peak


def ask_http(base: str, question: str) -> dict[str, Any]:
    body = json.dumps({"question": question}).encode()
    request = urllib.request.Request(f"{base}/api/ask", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:
        answer: dict[str, Any] = json.loads(response.read())
        return answer


def ask_gradio(base: str, question: str) -> str:
    from gradio_client import Client

    # The same patience as the API side: gradio_client's own default (20 s) counts a busy queue as an error.
    result = Client(base, verbose=False, httpx_kwargs={"timeout": REQUEST_TIMEOUT}).predict(question, api_name="/ask")
    return json.dumps(result, default=str)


def timed(fn: Any, *args: Any) -> tuple[float, str | None]:
    start = time.perf_counter()
    try:
        fn(*args)
        return time.perf_counter() - start, None
    except Exception as e:  # a load generator counts every kind of failure as one
        return time.perf_counter() - start, f"{type(e).__name__}: {e}"[:200]


def burst(fn: Any, base: str, requests: int, clients: int) -> dict[str, Any]:
    """`requests` calls of `fn`, `clients` at a time; latencies and errors."""
    questions = [QUESTIONS[i % len(QUESTIONS)] for i in range(requests)]
    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(lambda q: timed(fn, base, q), questions))
    latencies = [t for t, _ in results]
    errors = [e for _, e in results if e]
    return {"requests": requests, "clients": clients, "errors": len(errors), "error_samples": errors[:3],
            "p50_s": round(percentile(latencies, 50), 3), "p95_s": round(percentile(latencies, 95), 3),
            "max_s": round(max(latencies), 3), "wall_s": round(time.perf_counter() - start, 2)}


def run(store: Path, requests: int, clients: int, concurrency: int, gradio: bool,
        model_cache: Path | None = None) -> dict[str, Any]:
    port = free_port()
    server = start_server(store, port, concurrency, model_cache)
    memory = PeakMemory(server.pid)
    base = f"http://127.0.0.1:{port}"
    try:
        report: dict[str, Any] = {"concurrency_limit": concurrency, "api": burst(ask_http, base, requests, clients)}
        if gradio:
            report["gradio"] = burst(ask_gradio, base, requests, clients)
    finally:
        report["server_peak_rss_mb"] = round(memory.stop() / 2**20, 1)
        server.terminate()
        server.wait(timeout=30)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", type=Path, required=True, help="an ingested store (it is only read)")
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--clients", type=int, default=50, help="requests in flight at once")
    parser.add_argument("--concurrency", type=int, default=2, help="the server's concurrency limit")
    parser.add_argument("--no-gradio", action="store_true", help="only the HTTP API")
    args = parser.parse_args()
    print(json.dumps(run(args.store, args.requests, args.clients, args.concurrency, not args.no_gradio), indent=2))


if __name__ == "__main__":
    main()
