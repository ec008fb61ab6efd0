"""Tool calls written as text, Qwen/Hermes style: ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>``.

In-process models have no server-side parser: the call arrives as text in the stream.
:class:`ToolCallSplitter` is incremental like :class:`~workbench.models.thinking.ThinkSplitter`
(a tag cut across deltas is held back until the next delta decides it), and the JSON of
a call never reaches the text phase. A block whose JSON cannot be read stays text, so the
user sees what the model wrote instead of losing it.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from workbench.models.chunks import Phase, StreamChunk
from workbench.models.thinking import _held_suffix
from workbench.models.turn import parse_arguments

OPEN = "<tool_call>"
CLOSE = "</tool_call>"


def new_call_id() -> str:
    return f"call_{uuid.uuid4().hex[:24]}"


def parse_call(body: str) -> dict[str, Any] | None:
    """``{"id", "name", "arguments"}`` from the JSON inside one block, or None when it is not a call."""
    try:
        data = json.loads(body.strip())
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("name"), str) or not data["name"]:
        return None
    arguments = data.get("arguments", data.get("parameters", {}))
    return {"id": new_call_id(), "name": data["name"], "arguments": parse_arguments(arguments)}


class ToolCallSplitter:
    """Feed text deltas, get text and tool_call chunks; ``flush()`` at the end of the stream."""

    def __init__(self) -> None:
        self._buffer = ""
        self._in_call = False
        self._after_call = False      # whitespace right after a call is layout, not text
        self.calls: list[dict[str, Any]] = []

    def feed(self, text: str) -> list[StreamChunk]:
        if not text:
            return []
        self._buffer += text
        out: list[StreamChunk] = []
        while self._step(out):
            pass
        return out

    def flush(self) -> list[StreamChunk]:
        rest, self._buffer = self._buffer, ""
        out: list[StreamChunk] = []
        if self._in_call:
            # The stream ended inside a block (max tokens, or a model that skips the close tag).
            self._in_call = False
            call = parse_call(rest)
            if call is not None:
                self.calls.append(call)
                return [StreamChunk(Phase.TOOL_CALL, call)]
            rest = OPEN + rest
        if self._after_call:
            rest = rest.lstrip()
        if rest:
            out.append(StreamChunk(Phase.TEXT, rest))
        return out

    def _step(self, out: list[StreamChunk]) -> bool:
        buf = self._buffer
        if self._in_call:
            end = buf.find(CLOSE)
            if end < 0:
                return False
            body, self._buffer = buf[:end], buf[end + len(CLOSE):]
            self._in_call = False
            call = parse_call(body)
            if call is None:
                out.append(StreamChunk(Phase.TEXT, OPEN + body + CLOSE))
            else:
                self.calls.append(call)
                out.append(StreamChunk(Phase.TOOL_CALL, call))
                self._after_call = True
            return True
        if self._after_call:
            buf = buf.lstrip()
            self._buffer = buf
            if not buf:
                return False
            self._after_call = False
        start = buf.find(OPEN)
        if start >= 0:
            # Layout whitespace before a call is dropped with it.
            text = buf[:start].rstrip()
            if text:
                out.append(StreamChunk(Phase.TEXT, text))
            self._buffer = buf[start + len(OPEN):]
            self._in_call = True
            return True
        held = _held_suffix(buf, (OPEN,))
        head = buf[:len(buf) - held]
        keep = held + len(head) - len(head.rstrip())   # trailing whitespace may precede a call
        emit = buf[:len(buf) - keep]
        if emit:
            out.append(StreamChunk(Phase.TEXT, emit))
        self._buffer = buf[len(buf) - keep:]
        return False


def split_tool_calls(text: str) -> tuple[str, list[dict[str, Any]]]:
    """``(text, calls)`` of a whole response (the non-streaming case)."""
    splitter = ToolCallSplitter()
    chunks = splitter.feed(text) + splitter.flush()
    return "".join(c.content for c in chunks if c.phase is Phase.TEXT), splitter.calls


def cut_at_stop(full: str, delta: str, stops: list[str]) -> tuple[str, bool]:
    """The part of ``delta`` (the end of ``full``) before a stop string, and whether one was hit.

    Stop strings may span deltas, so the search starts a stop's length before the delta.
    """
    start = len(full) - len(delta)
    for stop in stops:
        i = full.find(stop, max(0, start - len(stop) + 1))
        if i >= 0:
            return (full[start:i] if i >= start else ""), True
    return delta, False


def stop_strings(stop: Any) -> list[str]:
    if not stop:
        return []
    return [stop] if isinstance(stop, str) else [s for s in stop if s]


class OutputSplitter:
    """The whole in-process pipeline: raw model text -> thinking, text and tool_call chunks."""

    def __init__(self, start_in_thinking: bool = False) -> None:
        from workbench.models.thinking import ThinkSplitter

        self._think = ThinkSplitter(start_in_thinking=start_in_thinking)
        self._tools = ToolCallSplitter()

    @property
    def calls(self) -> list[dict[str, Any]]:
        return self._tools.calls

    def feed(self, text: str) -> list[StreamChunk]:
        return self._route(self._think.feed(text))

    def flush(self) -> list[StreamChunk]:
        return self._route(self._think.flush()) + self._tools.flush()

    def _route(self, chunks: list[StreamChunk]) -> list[StreamChunk]:
        out: list[StreamChunk] = []
        for chunk in chunks:
            if chunk.phase is Phase.TEXT:
                out.extend(self._tools.feed(chunk.content))
            else:
                out.append(chunk)
        return out
