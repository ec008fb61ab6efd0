"""Several streams at once, relayed as one: what Parallel's workers and concurrent tool calls share.

``relay_threads(makers)`` runs each ``maker()`` generator in a thread pool and yields their
items as they come, from whichever; it returns the futures of their return values, in order
(a generator that raised has that exception on its future). ``relay_tasks(makers)`` is the
async twin: each ``maker()`` async iterator runs as a task of one ``asyncio.TaskGroup``, so
the first failure cancels the others and raises an ExceptionGroup; it yields their items and
fills a list with the tasks, whose results are what each returned. Closing either relay
closes (or cancels) what it runs.
"""

from __future__ import annotations

import asyncio
import contextvars
import queue
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, AsyncIterator, Callable, Generator, Iterator

_DONE = object()


def run_to_end(generator: Iterator[Any]) -> Any:
    """Exhaust a generator (dropping what it yields) and return its return value."""
    while True:
        try:
            next(generator)
        except StopIteration as stop:
            return stop.value


def relay_threads(makers: list[Callable[[], Iterator[Any]]], max_workers: int | None = None,
                  prefix: str = "workbench-relay") -> Generator[Any, None, list[Future]]:
    items: queue.Queue = queue.Queue()
    stop = threading.Event()           # set when the relay is closed: each generator is closed at its next item

    def work(make: Callable[[], Iterator[Any]]) -> Any:
        generator = None
        try:
            generator = make()
            while not stop.is_set():
                try:
                    items.put(next(generator))
                except StopIteration as done:
                    return done.value
            return None
        finally:
            close = getattr(generator, "close", None)
            if close is not None:
                close()
            items.put(_DONE)

    with ThreadPoolExecutor(max_workers=max_workers or min(8, len(makers)), thread_name_prefix=prefix) as pool:
        futures = [pool.submit(contextvars.copy_context().run, work, make) for make in makers]
        try:
            remaining = len(futures)
            while remaining:
                item = items.get()
                if item is _DONE:
                    remaining -= 1
                else:
                    yield item
        finally:
            stop.set()
    return futures


async def relay_tasks(makers: list[Callable[[], Any]], tasks: list[asyncio.Task]) -> AsyncIterator[Any]:
    """Yield the items of every ``maker()`` (a coroutine function taking ``put``) as they come.

    Each maker is ``async def make(put)``: it calls ``put(item)`` for what it relays and
    returns its result; ``tasks`` is filled with their tasks (results, or what failed).
    Closing this (``aclose``) cancels the tasks and waits for them; a failing task cancels
    the others and the group raises an ExceptionGroup."""
    items: asyncio.Queue = asyncio.Queue()

    async def work(make) -> Any:
        try:
            return await make(items.put_nowait)
        finally:
            items.put_nowait(_DONE)

    async with asyncio.TaskGroup() as group:
        tasks.extend(group.create_task(work(make)) for make in makers)
        remaining = len(tasks)
        while remaining:                  # a failure cancels this wait with the others
            item = await items.get()
            if item is _DONE:
                remaining -= 1
                continue
            try:
                yield item
            except GeneratorExit:         # closed by the consumer: stop the tasks, not an error
                for task in tasks:
                    task.cancel()
                break
