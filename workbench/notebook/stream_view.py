"""The live stream view: an anywidget (this class plus stream_view.js) and its terminal twin.

Kernel side of the protocol (the browser side is in stream_view.js):

- while streaming, appended text only, coalesced to at most ``1/interval`` custom messages
  per second: ``{"seq": n, "ops": [{"lane", "field", "append"} | {"lane", "field": "tool", "tool"} ...]}``;
- a tool call or the end of a model turn flushes at once (the user should see a tool
  start before it runs; these are rare next to text deltas);
- the browser answers a gap in ``seq`` with ``{"type": "resync"}``; the kernel replies
  ``{"seq": n, "full": state}``. (Comm messages from the browser are handled when the
  kernel is idle, so during a stream the final ``state`` traitlet usually answers first.)
- at the end the full final state is set as the ``state`` traitlet, then ``wb.show``
  replaces the view with static HTML / Markdown / text (``bundle()``), so a saved notebook
  shows the answer after its kernel is gone.

A view closed while streaming (``view.close()``, or its comm gone) stops sending and keeps
accumulating: the stream itself never fails because of the display.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any, Callable, TextIO

import anywidget
import traitlets

from workbench.models.chunks import Phase, StreamChunk
from workbench.notebook.coalesce import Coalescer
from workbench.notebook.reprs import footer_text, static_bundle
from workbench.notebook.stream_state import StreamState

_HERE = Path(__file__).parent


class StreamView(anywidget.AnyWidget):
    _esm = _HERE / "stream_view.js"
    _css = _HERE / "stream_view.css"
    state = traitlets.Dict({}).tag(sync=True)

    def __init__(self, model: str = "", *, interval: float = 1 / 25, render: str = "markdown",
                 clock: Callable[[], float] = time.monotonic, **kwargs: Any):
        self.stream = StreamState(model, clock, render=render)
        super().__init__(state=self.stream.snapshot(), **kwargs)
        self.coalescer = Coalescer(interval, clock)
        self.messages_sent = 0
        self.bytes_sent = 0        # JSON size of the custom messages (appends, tools, resyncs)
        self.send_failed = False
        self.on_msg(self._on_frontend_message)

    # -- streaming --------------------------------------------------------------------------
    def feed(self, chunk: StreamChunk) -> None:
        for op in self.stream.feed(chunk):
            message = self.coalescer.add(op)
            if message is not None:
                self._push(message)
        if chunk.phase is Phase.TOOL_CALL or chunk.phase is Phase.DONE or chunk.phase is Phase.TOOL_RESULT:
            self._push(self.coalescer.flush())

    def finish(self, status: str = "done", error: str = "", checkpoint: dict | None = None) -> None:
        self._push(self.coalescer.flush())
        self.stream.finish(status, error)
        self.stream.checkpoint = checkpoint
        try:
            self.state = self.stream.snapshot()
        except Exception:  # a dead comm must not turn a finished stream into an error
            self.send_failed = True

    @property
    def alive(self) -> bool:
        return getattr(self, "comm", None) is not None and not self.send_failed

    def bundle(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The final display bundle: static renderings only (no widget view).

        A widget view in a saved notebook needs its kernel-side model: reopened after the
        kernel is gone, JupyterLab shows "model not found" in its place. Static HTML,
        Markdown and text show the same final state anywhere.
        """
        return static_bundle(self.stream.snapshot()), {}

    def _push(self, message: dict[str, Any] | None) -> None:
        if message is None or not self.alive:
            return
        try:
            self.send(message)
        except Exception:
            self.send_failed = True
            return
        self.messages_sent += 1
        self.bytes_sent += len(json.dumps(message, ensure_ascii=False))

    def _on_frontend_message(self, _widget, content: dict[str, Any], _buffers) -> None:
        if isinstance(content, dict) and content.get("type") == "resync":
            self._push({"seq": self.coalescer.seq, "full": self.stream.snapshot()})


class TerminalView:
    """The same interface for a plain terminal: deltas printed as they come."""

    def __init__(self, model: str = "", *, out: TextIO | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.stream = StreamState(model, clock)
        self.out = out
        self._section = None  # (lane, field) last printed, to print a header when it changes

    def _write(self, text: str) -> None:
        out = self.out or sys.stdout
        out.write(text)
        out.flush()

    def feed(self, chunk: StreamChunk) -> None:
        for op in self.stream.feed(chunk):
            field, lane = op["field"], op.get("lane") or ""
            if field in ("text", "thinking"):
                if self._section != (lane, field):
                    head = f"[{lane}] " if lane else ""
                    if field == "thinking":
                        head += "(thinking) "
                    if self._section is not None:
                        self._write("\n")
                    self._write(head)
                    self._section = (lane, field)
                self._write(op["append"])
            elif field == "tool":
                tool = op["tool"]
                if tool["status"] in ("requested", "done", "error"):
                    arrow = "->" if tool["status"] == "requested" else "<-"
                    shown = tool["result"] if tool["result"] is not None else json.dumps(tool["arguments"])
                    self._write(f"\n{arrow} {tool['name']} {tool['status']}: {shown}")
                    self._section = ("", "tool")

    def finish(self, status: str = "done", error: str = "", checkpoint: dict | None = None) -> None:
        self.stream.finish(status, error)
        self.stream.checkpoint = checkpoint
        self._write(("\n" if self._section else "") + "-- " + footer_text(self.stream.footer()) + "\n")

    alive = False

    def bundle(self) -> tuple[dict[str, Any], dict[str, Any]]:
        return static_bundle(self.stream.snapshot()), {}
