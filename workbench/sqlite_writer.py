"""One writer thread per SQLite file: callers hand it items and go on; it commits bursts.

The run store and the call log both write this way: ``put`` never blocks, the thread takes
everything queued at once and hands the burst to ``write(conn, batch)`` (one transaction,
the store's own rule for a bad item), on its own connection. ``flush`` waits until what was
put before it is committed; ``error`` keeps a failure the store could not handle, which the
store reports its own way (an exception for the run store, a warning for the call log).
"""

from __future__ import annotations

import queue
import sqlite3
import threading
from typing import Any, Callable


class BatchWriter:
    def __init__(self, connect: Callable[[], sqlite3.Connection],
                 write: Callable[[sqlite3.Connection, list[Any]], None], *, name: str):
        self._connect = connect
        self._write = write
        self._queue: queue.Queue = queue.Queue()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def put(self, item: Any) -> None:
        self._queue.put(item)

    def flush(self, timeout: float) -> bool:
        """True when everything put so far is written (or the writer has stopped)."""
        if not self._thread.is_alive():
            return True
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout)

    def close(self, timeout: float = 10.0) -> None:
        self._queue.put(None)
        self._thread.join(timeout=timeout)

    def _loop(self) -> None:
        try:
            conn = self._connect()     # its own connection: the writer never shares one
        except BaseException as exc:
            self.error = exc
            self._drain_waiters()
            return
        while True:
            item = self._queue.get()
            batch, waiters, stop = [], [], False
            while True:                # take everything queued now: one transaction per burst
                if item is None:
                    stop = True
                elif isinstance(item, threading.Event):
                    waiters.append(item)
                else:
                    batch.append(item)
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            if batch:
                try:
                    self._write(conn, batch)
                except BaseException as exc:   # the store's write gave up: keep it for the store to report
                    self.error = exc
            for waiter in waiters:
                waiter.set()
            if stop:
                conn.close()
                return

    def _drain_waiters(self) -> None:
        while True:
            try:
                item = self._queue.get(timeout=0.5)
            except queue.Empty:
                return
            if isinstance(item, threading.Event):
                item.set()
            elif item is None:
                return
