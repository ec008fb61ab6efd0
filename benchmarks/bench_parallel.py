"""aio.Parallel of 16 agents vs one turn's latency (target <= 1.3x); the sync Parallel likewise.

A fake OpenAI server answers every request after LATENCY seconds; it runs in a process of
its own, so its request handling shares no GIL with the clients being measured. Each
worker is an Agent on its own client; one run is one model turn. Printed: one turn's
latency (median of a few single runs), the wall time of Parallel over N workers, and the
ratio.

    python benchmarks/bench_parallel.py [N] [LATENCY_S] [REPEATS]
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import subprocess
import sys
import time

import workbench as wb
from workbench import aio
from workbench.agents import Agent, Parallel
KEY = "bench-key-not-secret"
SERVER = """
import sys, threading
from workbench.testing import FakeOpenAIServer, Reply
server = FakeOpenAIServer(default=Reply(text="An answer of a few words.", delay={latency})).start()
print(server.base_url, flush=True)
sys.stdin.read()   # until the parent closes our stdin
server.stop()
"""


@contextlib.contextmanager
def fake_server_process(latency: float):
    proc = subprocess.Popen([sys.executable, "-c", SERVER.format(latency=latency)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        yield proc.stdout.readline().strip()
    finally:
        proc.stdin.close()
        proc.wait(10)


def model(base_url: str) -> str:
    return "openai-compat:bench-model@" + base_url


def sync_parallel(server, n: int, max_workers: int | None) -> Parallel:
    workers = [Agent(wb.client(model(server), api_key=KEY), name=f"w{i}", reset_messages_on_run=True)
               for i in range(n)]
    return Parallel(workers, max_workers=max_workers)


def async_parallel(server, n: int) -> "aio.Parallel":
    workers = [aio.Agent(aio.client(model(server), api_key=KEY), name=f"w{i}", reset_messages_on_run=True)
               for i in range(n)]
    return aio.Parallel(workers)


def main(n: int = 16, latency: float = 0.2, repeats: int = 5) -> None:
    with fake_server_process(latency) as server:
        single = Agent(wb.client(model(server), api_key=KEY), reset_messages_on_run=True)
        single.run("warm up")
        one_turn = statistics.median(_timed(lambda: single.run("task")) for _ in range(repeats))

        async def async_runs() -> list[float]:
            par = async_parallel(server, n)
            await par.run("warm up")  # opens the connections and builds the async SDK objects
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                out = await par.run("task")
                times.append(time.perf_counter() - start)
                assert out.count("An answer") == n
            return times

        aio_wall = statistics.median(asyncio.run(async_runs()))
        sync_rows = []
        for max_workers in (None, n):
            par = sync_parallel(server, n, max_workers)
            par.run("warm up")
            wall = statistics.median(_timed(lambda: par.run("task")) for _ in range(repeats))
            sync_rows.append((max_workers, wall))

    print(f"fake server latency per turn: {latency * 1000:.0f} ms; workers: {n}; median of {repeats}")
    print(f"one turn (single sync agent):          {one_turn * 1000:7.1f} ms")
    print(f"aio.Parallel x{n} (TaskGroup):          {aio_wall * 1000:7.1f} ms  = {aio_wall / one_turn:.2f}x one turn"
          f"  (target <= 1.3x)")
    for max_workers, wall in sync_rows:
        label = f"default pool (min(8, n) = {min(8, n)})" if max_workers is None else f"max_workers={max_workers}"
        print(f"sync Parallel x{n}, {label:28s} {wall * 1000:7.1f} ms  = {wall / one_turn:.2f}x one turn")


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


if __name__ == "__main__":
    args = [float(a) for a in sys.argv[1:]]
    main(int(args[0]) if args else 16, args[1] if len(args) > 1 else 0.2, int(args[2]) if len(args) > 2 else 5)
