"""workbench.relay: several streams relayed as one, and closing it closes what it runs."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from workbench.relay import relay_tasks, relay_threads


def test_threads_relay_every_item_and_return_the_results_in_order():
    def counting(name, n):
        for i in range(n):
            yield f"{name}{i}"
        return name.upper()

    relay = relay_threads([lambda: counting("a", 3), lambda: counting("b", 2)])
    items = []
    while True:
        try:
            items.append(next(relay))
        except StopIteration as done:
            futures = done.value
            break
    assert sorted(items) == ["a0", "a1", "a2", "b0", "b1"]
    assert [f.result() for f in futures] == ["A", "B"]


def test_closing_the_thread_relay_closes_the_generators_it_runs():
    closed, produced = [], []

    def endless(name):
        try:
            for i in range(10_000):
                produced.append(i)
                time.sleep(0.001)
                yield f"{name}{i}"
        finally:
            closed.append(name)

    relay = relay_threads([lambda: endless("a"), lambda: endless("b")])
    next(relay)
    relay.close()
    assert sorted(closed) == ["a", "b"] and len(produced) < 1000
    assert not [t for t in threading.enumerate() if t.name.startswith("workbench-relay")]


def test_closing_the_task_relay_cancels_its_tasks_without_an_error():
    cancelled = []

    def maker(name):
        async def make(put):
            try:
                for i in range(10_000):
                    put(f"{name}{i}")
                    await asyncio.sleep(0.001)
            except asyncio.CancelledError:
                cancelled.append(name)
                raise
        return make

    async def main():
        tasks: list = []
        relay = relay_tasks([maker("a"), maker("b")], tasks)
        first = await anext(relay)
        await relay.aclose()                    # no BaseExceptionGroup, no GeneratorExit leak
        return first, [t.cancelled() for t in tasks]

    first, states = asyncio.run(main())
    assert first in ("a0", "b0") and states == [True, True] and sorted(cancelled) == ["a", "b"]


def test_a_failing_task_cancels_the_others_and_raises_a_group():
    def maker(fail):
        async def make(put):
            put("x")
            await asyncio.sleep(0.01 if fail else 10)
            if fail:
                raise ValueError("boom")
        return make

    async def main():
        return [item async for item in relay_tasks([maker(True), maker(False)], [])]

    with pytest.raises(ExceptionGroup) as caught:
        asyncio.run(main())
    assert caught.group_contains(ValueError, match="boom")
