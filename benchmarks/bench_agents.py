"""Agent and workflow overhead over plain client calls, tool decoration/validation, checkpoint saves.

    python benchmarks/bench_agents.py [iterations]

All model calls go to one in-process FakeOpenAIServer with a fixed reply, so the figures
compare the effect driver and bookkeeping, not a model. Prints figures only.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import workbench as wb
from workbench.agents import Agent, Chain
from workbench.checkpoints import save_checkpoint
from workbench.testing import FakeOpenAIServer, Reply


def median_ms(fn, n: int) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def paired_ms(base, over, n: int) -> tuple[float, float]:
    """Medians of two functions timed in alternating order, so load drift hits both alike."""
    a, b = [], []
    for i in range(n):
        for fn, out in ((base, a), (over, b)) if i % 2 == 0 else ((over, b), (base, a)):
            t = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t)
    return statistics.median(a) * 1000, statistics.median(b) * 1000


@dataclass
class Item:
    name: str
    qty: int
    tags: list[str]


def main(n: int) -> None:
    with FakeOpenAIServer(default=Reply(text="ok " * 20)) as server:
        url = "openai-compat:bench@" + server.base_url
        client = wb.client(url, retry=0)
        agent = Agent(wb.client(url, retry=0), reset_messages_on_run=True)
        chain = Chain.from_client(wb.client(url, retry=0), ["a", "b", "c"])

        def chat():
            client.reset()
            client.chat("hi")

        for stream in (False, True):
            def agent_run():
                out = agent.run("hi", stream=stream)
                if stream:
                    list(out)

            def client_run():
                client.reset()
                out = client.chat("hi", stream=stream)
                if stream:
                    list(out)

            base, over = paired_ms(client_run, agent_run, n)
            print(f"stream={stream!s:5}  client.chat {base:7.2f} ms   Agent.run {over:7.2f} ms   "
                  f"ratio {over / base:5.3f}")
        base, over = paired_ms(lambda: [chat() for _ in range(3)], lambda: chain.run("hi"), n)
        print(f"3 chats {base:7.2f} ms   3-step Chain.run {over:7.2f} ms   ratio {over / base:5.3f}")

    def decorate():
        def order(items: list[Item], rush: bool = False, note: str | None = None) -> str:
            """Order items.

            Args:
                items: What to order.
                rush: Ship fast.
                note: A note.
            """
            return ""
        wb.tool(order)

    print(f"@tool on a nested signature: {median_ms(decorate, n * 10) * 1000:8.1f} us")

    def order_fn(items: list[Item], rush: bool = False) -> str:
        return ""

    tool_fn = wb.tool(order_fn)
    args = {"items": [{"name": f"i{k}", "qty": str(k), "tags": ["x"]} for k in range(10)], "rush": "true"}
    print(f"validate+coerce 10 nested items: {median_ms(lambda: tool_fn.__tool_validate__(args), n * 10) * 1000:8.1f} us")

    history = [{"role": "user" if k % 2 else "assistant", "content": "word " * 100} for k in range(1000)]
    client = wb.client("openai-compat:bench@http://127.0.0.1:9/v1")
    client.restore(history)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "c.json"
        print(f"save_checkpoint, 1000 messages (~600 KB): {median_ms(lambda: save_checkpoint(client, path), n):7.2f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30)
