"""Run a sync iterator in a thread and read it from the event loop.

In-process models (transformers, llama.cpp) only have a sync ``_turn``. Iterating it on
the event loop would freeze every other task for the whole generation, so it runs in a
thread of its own and hands chunks over through an ``asyncio.Queue``.

Pull, not push: the thread takes the next chunk from the sync iterator only when the
consumer asks for one, as a sync ``for`` loop would. Reading ahead would let a fast turn
finish, and commit itself to history, behind the back of a consumer that was stopping; a
turn streamed here ends exactly where its consumer stopped. (The model itself may still
compute ahead: the HF provider generates in its own worker thread.)

Cancellation: when the async consumer stops (cancelled, ``break``, an error), the thread
is told to stop and closes the sync generator itself (a generator can only be closed by
the thread running it), which is how the providers stop generating. It stops at the next
chunk, so at most one more token is produced after the consumer has gone.
"""

from __future__ import annotations

import asyncio
import threading
from typing import AsyncIterator, Callable, Iterator, TypeVar

T = TypeVar("T")

_ITEM, _END, _ERROR = "item", "end", "error"


async def iterate_in_thread(make_iterator: Callable[[], Iterator[T]], *,
                            name: str = "workbench-aio-turn") -> AsyncIterator[T]:
    """Yield what ``make_iterator()`` yields, computed in a dedicated daemon thread."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()
    stop = threading.Event()
    demand = threading.Semaphore(0)   # one release per chunk the consumer asks for

    def put(kind: str, value) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, (kind, value))
        except RuntimeError:  # the loop is closed: nobody is listening any more
            stop.set()

    def wanted() -> bool:
        while not demand.acquire(timeout=0.05):
            if stop.is_set():
                return False
        return not stop.is_set()

    def produce() -> None:
        iterator = None
        try:
            iterator = make_iterator()
            while wanted():
                try:
                    item = next(iterator)
                except StopIteration:
                    put(_END, None)
                    return
                put(_ITEM, item)
        except BaseException as exc:  # handed to the consumer, raised there
            put(_ERROR, exc)
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()  # GeneratorExit inside the provider: generation stops

    # A thread per turn (not the default executor) so that long generations never starve
    # the executor that asyncio.to_thread tools run on.
    threading.Thread(target=produce, name=name, daemon=True).start()
    try:
        while True:
            demand.release()
            kind, value = await queue.get()
            if kind == _ITEM:
                yield value
            elif kind == _END:
                return
            else:
                raise value
    finally:
        stop.set()
