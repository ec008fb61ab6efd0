"""The live stream view: an anywidget (this class plus stream_view.js) and its terminal twin.

Kernel side of the protocol (the browser side is in stream_view.js):

- while streaming, coalesced to at most ``1/interval`` custom messages per second:
  ``{"seq": n, "ops": [...]}`` with appended text (``{"lane", "field", "append"}``), tool
  entries (``"field": "tool"``), the answer's HTML (``"field": "html"``: settled blocks once,
  plus the open tail, rendered by ``markdown.py``, the renderer of the static output) and the
  footer figures (``"field": "meta"``, in every message, so tokens and speed move live);
- a tool call or the end of a model turn flushes at once (the user should see a tool
  start before it runs; these are rare next to text deltas);
- the browser answers a gap in ``seq`` with ``{"type": "resync"}``; the kernel replies
  ``{"seq": n, "full": state}`` (with each lane's HTML). Comm messages from the browser are
  handled when the kernel is idle, which is why the stop button interrupts the kernel
  through Jupyter Server instead (the state carries the kernel's id);
- at the end a last message carries the final footer and checkpoint, then ``wb.show``
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
from workbench.notebook.markdown import LiveAnswer
from workbench.notebook.reprs import footer_text, static_bundle
from workbench.notebook.stream_state import StreamState
from workbench.notebook.widget_js import module

_HERE = Path(__file__).parent


class StreamView(anywidget.AnyWidget):
    _esm = module("stream_view.js")
    _css = _HERE / "stream_view.css"
    state = traitlets.Dict({}).tag(sync=True)

    def __init__(self, model: str = "", *, interval: float = 1 / 25, render: str = "markdown",
                 limit: int | None = None, clock: Callable[[], float] = time.monotonic, **kwargs: Any):
        self.stream = StreamState(model, clock, render=render, limit=limit)
        super().__init__(state={**self.stream.snapshot(), "kernel_id": kernel_id()}, **kwargs)
        self.coalescer = Coalescer(interval, clock)
        self.answers: dict[str, LiveAnswer] = {}
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
            self._push(self.coalescer.flush(), settle=chunk.phase is Phase.DONE)

    def finish(self, status: str = "done", error: str = "", checkpoint: dict | None = None) -> None:
        self.stream.finish(status, error)
        self.stream.checkpoint = checkpoint
        # add() hands back the message itself when the interval has passed: push that one,
        # else flush; either way the last message carries the final footer (status)
        message = self.coalescer.add({"lane": "", "field": "checkpoint", "checkpoint": checkpoint})
        self._push(message or self.coalescer.flush(), settle=True)

    @property
    def alive(self) -> bool:
        return getattr(self, "comm", None) is not None and not self.send_failed

    def bundle(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The final display bundle: static renderings only (no widget view).

        A widget view in a saved notebook needs its kernel-side model: reopened after the
        kernel is gone, JupyterLab shows "model not found" in its place. Static HTML,
        Markdown and text show the same final state anywhere.
        """
        return static_bundle(self.stream.snapshot(saved=True)), {}

    def _push(self, message: dict[str, Any] | None, *, settle: bool = False) -> None:
        if message is None or not self.alive:
            return
        self._add_html_and_footer(message, settle)
        try:
            self.send(message)
        except Exception:
            self.send_failed = True
            return
        self.messages_sent += 1
        self.bytes_sent += len(json.dumps(message, ensure_ascii=False))

    def _add_html_and_footer(self, message: dict[str, Any], settle: bool) -> None:
        """Rendered once per message, not per token: the lanes whose text grew, and the
        footer as it is now."""
        ops = message.get("ops")
        if ops is None:
            return
        if self.stream.render != "text":
            grown = {op.get("lane") or "" for op in ops if op.get("field") == "text"}
            if settle:
                grown |= {name for name, lane in self.stream.lanes.items() if lane.text}
            for name in sorted(grown):
                update = self.answers.setdefault(name, LiveAnswer()).update(
                    self.stream.lanes[name].text, final=settle)
                if update is not None:
                    ops.append({"lane": name, "field": "html", **update})
        if not any(op.get("field") == "meta" for op in ops):
            ops.append({"lane": "", "field": "meta", "footer": self.stream.footer()})

    def full_state(self) -> dict[str, Any]:
        """The whole state now, with each lane's rendered HTML (a resync answer)."""
        state = self.stream.snapshot()
        for lane in state["lanes"]:
            answer = self.answers.get(lane["name"])
            if answer is not None:
                lane["html"] = answer.full()
        return state

    def _on_frontend_message(self, _widget, content: dict[str, Any], _buffers) -> None:
        if isinstance(content, dict) and content.get("type") == "resync":
            self._push({"seq": self.coalescer.seq, "full": self.full_state()})


def kernel_id() -> str | None:
    """This kernel's id in Jupyter Server (from its connection file name), or None."""
    try:
        from ipykernel import get_connection_file

        name = Path(get_connection_file()).stem
    except Exception:    # not in an ipykernel
        return None
    return name[len("kernel-"):] if name.startswith("kernel-") else None


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
        return static_bundle(self.stream.snapshot(saved=True)), {}
