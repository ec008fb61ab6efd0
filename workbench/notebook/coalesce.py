"""Coalescing stream deltas into few, ordered messages (pure: no I/O, the clock is injected).

Jupyter Server drops iopub messages above ~1000/s (averaged over 3 s), and a browser that
re-renders Markdown on every token stutters long before that. So the kernel side of the
stream view never sends one message per token: it buffers *operations* and emits one
message per ``interval`` at most, whatever the token rate.

An operation is a dict with ``lane`` (the agent name, "" for a plain client) and ``field``:

- ``{"lane", "field": "text" | "thinking", "append": str}``: appended text. Consecutive
  appends to the same lane and field merge into one, so a message carries each stretch of
  text once (bytes on the wire stay close to the text's size).
- any other field (``"tool"``, ``"meta"``...) carries its own payload and is kept in order.

A message is ``{"seq": n, "ops": [op, ...]}``; ``seq`` counts 1, 2, 3... so the receiver
can detect a gap and ask for the full state again.
"""

from __future__ import annotations

import time
from typing import Any, Callable

APPEND_FIELDS = ("text", "thinking")


class Coalescer:
    """Buffers operations; ``add`` returns a message when one is due, else ``None``."""

    def __init__(self, interval: float = 1 / 25, clock: Callable[[], float] = time.monotonic):
        if interval <= 0:
            raise ValueError("interval must be > 0 seconds (e.g. 1/25 for at most 25 messages per second)")
        self.interval = interval
        self.clock = clock
        self.seq = 0
        self.sent_messages = 0
        self._pending: list[dict[str, Any]] = []
        self._last_sent: float | None = None

    @property
    def pending(self) -> bool:
        return bool(self._pending)

    def add(self, op: dict[str, Any]) -> dict[str, Any] | None:
        self._push(op)
        return self._take() if self._due() else None

    def append(self, lane: str, field: str, text: str) -> dict[str, Any] | None:
        if not text:
            return None
        return self.add({"lane": lane, "field": field, "append": text})

    def flush(self) -> dict[str, Any] | None:
        """Everything pending as one message now (end of stream, before a tool runs)."""
        return self._take() if self._pending else None

    def poll(self) -> dict[str, Any] | None:
        """The pending operations if the interval has passed (for a timer between chunks)."""
        return self._take() if self._pending and self._due() else None

    # -- internals --------------------------------------------------------------------------
    def _push(self, op: dict[str, Any]) -> None:
        if op.get("field") == "image":        # only the newest picture of an image is worth sending
            index = (op.get("image") or {}).get("index")
            self._pending = [p for p in self._pending if not (
                p.get("field") == "image" and p.get("lane") == op.get("lane")
                and (p.get("image") or {}).get("index") == index)]
        last = self._pending[-1] if self._pending else None
        if (last is not None and op.get("field") in APPEND_FIELDS and "append" in op
                and last.get("field") == op["field"] and last.get("lane") == op.get("lane")
                and "append" in last):
            last["append"] += op["append"]
        else:
            self._pending.append(dict(op))

    def _due(self) -> bool:
        return self._last_sent is None or self.clock() - self._last_sent >= self.interval

    def _take(self) -> dict[str, Any]:
        self.seq += 1
        self.sent_messages += 1
        self._last_sent = self.clock()
        ops, self._pending = self._pending, []
        return {"seq": self.seq, "ops": ops}
