"""The experiment engine's figures, printed side by side with the ideal and a peer.

    python benchmarks/bench_evals.py [--rows 1000] [--concurrency 64] [--latency 0.2]

1. The same exact-match task (``rows`` questions) against one fake OpenAI server (in its
   own process, so it shares no GIL with the client) that waits ``latency`` seconds per
   request, at the same concurrency: this engine, and Inspect
   AI (``inspect_ai``, its OpenAI-compatible provider pointed at the same server) when it
   is installed. The ideal is rows / concurrency x latency; a bare httpx client against the
   same server shows how close to it this machine and the fake server get at all. Targets:
   ours <= Inspect's and <= 1.3x the ideal.
2. A cached rerun of the same task: requests sent (target 0) and time per row (target < 2 ms).
3. The run store: rows written per second while a run streams (target >= 5,000).
4. Resume after SIGKILL about half way: requests on the rerun against the rows that were
   not stored at the kill; the final rows' count and ids against an uninterrupted run.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def ours(client, data: list[dict], concurrency: int, store: Path, cache: Path | None = None):
    from workbench.evals import Benchmark
    from workbench.prompts import ExactMatchScorer

    bench = Benchmark("{question}", data, ExactMatchScorer(target="answer"), name="bench")
    start = time.perf_counter()
    results = bench.run(client, store=store, max_concurrency=concurrency, cache=cache)
    return time.perf_counter() - start, results


def inspect_run(base_url: str, data: list[dict], concurrency: int, log_dir: str):
    try:
        from inspect_ai import Task, eval as inspect_eval
        from inspect_ai.dataset import Sample
        from inspect_ai.scorer import exact
        from inspect_ai.solver import generate
    except ImportError:
        return None, "inspect_ai is not installed (pip install inspect_ai) -- peer skipped"
    os.environ["FAKE_API_KEY"] = "fake"
    os.environ["FAKE_BASE_URL"] = base_url
    task = Task(dataset=[Sample(input=row["question"], target=row["answer"]) for row in data],
                solver=generate(), scorer=exact())
    start = time.perf_counter()
    logs = inspect_eval(task, model="openai-api/fake/fake-model", max_connections=concurrency,
                        max_samples=concurrency, log_dir=log_dir, display="none", score_display=False)
    elapsed = time.perf_counter() - start
    status = logs[0].status if logs else "?"
    return elapsed, f"status {status}"


class ServerProcess:
    """``python -m workbench.testing openai`` in its own process; counts requests by its log."""

    def __init__(self, latency: float):
        self.latency = latency

    def __enter__(self):
        import subprocess

        self.proc = subprocess.Popen([sys.executable, "-m", "workbench.testing", "openai", "--text", "ok",
                                      "--delay", str(self.latency)], stdout=subprocess.PIPE, text=True,
                                     env=dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1])))
        self.base_url = self.proc.stdout.readline().strip()
        self.proc.stdout.readline()
        self.seen = 0
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(10)



def raw_floor(base_url: str, rows: int, concurrency: int) -> float:
    """The same requests from a bare ``httpx.AsyncClient`` (no SDK, no engine): what this
    machine and the fake server allow at all."""
    import asyncio

    import httpx

    async def main() -> float:
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(limits=limits, timeout=60) as http:
            sem = asyncio.Semaphore(concurrency)

            async def one(i: int) -> None:
                async with sem:
                    r = await http.post(f"{base_url}/chat/completions", json={
                        "model": "fake-model", "messages": [{"role": "user", "content": f"Say {i}."}]})
                    r.raise_for_status()

            start = time.perf_counter()
            await asyncio.gather(*(one(i) for i in range(rows)))
            return time.perf_counter() - start

    return asyncio.run(main())


def store_throughput(path: Path, rows: int = 20_000) -> float:
    from workbench.evals.store import RunStore

    store = RunStore(path)
    store.start_run("speed", "speed", {}, {1: "{q}"})
    now = time.time()
    start = time.perf_counter()
    for i in range(rows):
        store.write_row({"run_id": "speed", "model": "m", "sample_id": str(i), "epoch": 0, "prompt_version": 1,
                         "output": "some answer text", "score": 1.0, "passed": True, "latency_s": 0.1,
                         "created_at": now})
    store.flush()
    elapsed = time.perf_counter() - start
    store.close()
    return rows / elapsed


KILLED_RUN = """
import sys
sys.path.insert(0, {repo!r})
import workbench as wb
from workbench.evals import Benchmark
from workbench.prompts import ExactMatchScorer
data = [{{"question": f"Say {{i}}.", "answer": "ok"}} for i in range({rows})]
client = wb.client("openai-compat:fake-model@{url}")
Benchmark("{{question}}", data, ExactMatchScorer(target="answer")).run(client, store={store!r}, run_id="killed",
                                                                     max_concurrency={concurrency})
"""


def resume_after_sigkill(base_url: str, rows: int, concurrency: int, work: Path) -> None:
    import signal
    import subprocess

    import workbench as wb
    from workbench.evals import Benchmark
    from workbench.evals.store import RunStore
    from workbench.prompts import ExactMatchScorer

    store = work / "killed.db"
    code = KILLED_RUN.format(repo=str(Path(__file__).resolve().parents[1]), rows=rows, url=base_url,
                             store=str(store), concurrency=concurrency)
    proc = subprocess.Popen([sys.executable, "-c", code])
    stored = 0
    while stored < rows // 2 and proc.poll() is None:
        time.sleep(0.05)
        if store.exists():
            try:
                stored = len(RunStore(store).rows("killed"))
            except Exception:
                stored = 0
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    at_kill = len(RunStore(store).rows("killed"))
    data = [{"question": f"Say {i}.", "answer": "ok"} for i in range(rows)]
    results = Benchmark("{question}", data, ExactMatchScorer(target="answer")).run(
        wb.client(f"openai-compat:fake-model@{base_url}"), store=store, resume="killed", max_concurrency=concurrency)
    ids = sorted(int(r["sample_id"]) for r in results.rows)
    print(f"resume after SIGKILL: {at_kill}/{rows} rows stored at the kill; the rerun sent {results.sent} "
          f"(= {rows - at_kill} missing); final rows {len(results.rows)}, ids 0..{rows - 1} exactly once: "
          f"{ids == list(range(rows))}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency", type=float, default=0.2)
    args = parser.parse_args()

    data = [{"question": f"Say {i}.", "answer": "ok"} for i in range(args.rows)]
    ideal = args.rows / args.concurrency * args.latency
    work = Path(tempfile.mkdtemp(prefix="bench-evals-"))
    with ServerProcess(args.latency) as server:
        print(f"{args.rows} rows, concurrency {args.concurrency}, {args.latency * 1000:.0f} ms per request; "
              f"ideal {ideal:.2f} s")
        import workbench as wb

        floor = raw_floor(server.base_url, args.rows, args.concurrency)
        print(f"  raw httpx  {floor:6.2f} s  = {floor / ideal:.2f}x ideal  (no SDK, no engine: this machine's floor)")
        cold = wb.client(f"openai-compat:fake-model@{server.base_url}")
        wall_cold, _ = ours(cold, data, args.concurrency, work / "cold.db")
        print(f"  workbench  {wall_cold:6.2f} s  = {wall_cold / ideal:.2f}x ideal  (cold: imports, "
              f"{args.concurrency} new connections)")
        client = wb.client(f"openai-compat:fake-model@{server.base_url}")
        ours(client, data[:2 * args.concurrency], args.concurrency, work / "warm.db")   # its connection pool
        wall, results = ours(client, data, args.concurrency, work / "runs.db", cache=work / "cache.db")
        scored = results.metrics[next(iter(results.metrics))]
        print(f"  workbench  {wall:6.2f} s  = {wall / ideal:.2f}x ideal  (warm connections; mean score "
              f"{scored['mean_score']:.2f}, {scored['errors']} errors)")
        peer, note = inspect_run(server.base_url, data, args.concurrency, str(work / "inspect-logs"))
        if peer is None:
            print(f"  inspect_ai {note}")
        else:
            print(f"  inspect_ai {peer:6.2f} s  = {peer / ideal:.2f}x ideal  ({note})")
            print(f"  ratio workbench / inspect_ai: {wall_cold / peer:.2f} cold, {wall / peer:.2f} warm "
                  "(target <= 1.0)")

        start = time.perf_counter()
        _, cached = ours(client, data, args.concurrency, work / "runs.db", cache=work / "cache.db")
        elapsed = time.perf_counter() - start
        sent = sum(not r["cache_hit"] for r in cached.rows)
        print(f"cached rerun: {sent} requests sent, {len(cached.rows) - sent}/{len(cached.rows)} from the cache, "
              f"{elapsed / len(cached.rows) * 1000:.2f} ms per row (target 0 requests, < 2 ms)")
        resume_after_sigkill(server.base_url, args.rows, args.concurrency, work)
    print(f"run store: {store_throughput(work / 'speed.db'):,.0f} rows/s written (target >= 5,000)")


if __name__ == "__main__":
    main()
