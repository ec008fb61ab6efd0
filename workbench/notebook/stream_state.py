"""What a stream view shows, accumulated from StreamChunks (pure: no widgets, no I/O).

``StreamState.feed(chunk)`` updates the lanes and returns the operations to send to the
browser (see ``coalesce.py``). ``snapshot()`` is the full state: the widget's final
traitlet, the resync answer and the source of the static HTML / Markdown fallback.

One lane per agent (``chunk.agent``; "" for a plain client), so an orchestrator or a
workflow shows each worker apart. A tool call is *requested* when the model asks for it,
*running* once that model turn is done (the client runs tools after the turn), and
*done* / *error* when its result arrives.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

from workbench.models.chunks import Phase, StreamChunk

RESULT_PREVIEW_CHARS = 4000  # a tool result beyond this is cut in the view (never in history)
PREVIEW_SIDE = 256           # an image preview in the live view: at most this many pixels a side
FINAL_SIDE = 512             # a finished image in the live view (the saved output keeps the PNG)


def lane_title(name: str) -> str:
    """A readable lane name: ``chain_step_0`` -> ``chain · step 1``, ``debate_worker_2`` ->
    ``debate · worker 3``, ``trip_generator`` -> ``trip · generator``."""
    import re

    m = re.match(r"^(.+?)_(step|worker)_(\d+)$", name)
    if m:
        return f"{m[1].replace('_', ' ')} · {m[2]} {int(m[3]) + 1}"
    head, sep, tail = name.rpartition("_")
    if sep and head and tail in ("generator", "evaluator", "classifier", "fallback", "planner", "executor"):
        return f"{head.replace('_', ' ')} · {tail}"
    return name.replace("_", " ")


@dataclass
class Lane:
    name: str
    thinking: str = ""
    text: str = ""
    answer: str = ""            # the text of the lane's latest model turn
    tools: list[dict[str, Any]] = field(default_factory=list)
    turns: int = 0
    rounds: int = 0             # runs of this lane with another lane speaking in between
    in_turn_text: bool = False
    images: dict[int, dict[str, Any]] = field(default_factory=dict)   # per image: step, total, src
    final_pngs: dict[int, bytes] = field(default_factory=dict)         # the finished images, full size

    @property
    def title(self) -> str:
        return lane_title(self.name)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "thinking": self.thinking, "text": self.text,
                "tools": [dict(t) for t in self.tools], "turns": self.turns, "rounds": self.rounds,
                "images": [dict(self.images[i]) for i in sorted(self.images)]}

    def final_images(self) -> list[bytes]:
        return [self.final_pngs[i] for i in sorted(self.final_pngs)]


class StreamState:
    """Lanes, tool timeline and footer figures of one streamed run."""

    def __init__(self, model: str | None = None, clock: Callable[[], float] = time.monotonic,
                 render: str = "markdown", limit: int | None = None):
        self.clock = clock
        self.limit = limit               # max_tokens of the run, named when an answer is cut
        self.cut = False                 # a model turn ended at the token limit
        self.render = render             # how the answer is drawn: "text" as typed, else Markdown
        self.started = clock()
        self.model = model or ""
        self.lanes: dict[str, Lane] = {}
        self.usage: dict[str, int] = {}
        self.status = "streaming"      # streaming | done | error | interrupted
        self.error = ""
        self.checkpoint: dict[str, Any] | None = None
        self.ended: float | None = None
        self.delta_count = 0           # text+thinking deltas: the token estimate when no usage comes
        self.open_deltas = 0           # deltas of the model turn under way (its usage comes at its end)
        self.last_lane = ""

    # -- feeding ----------------------------------------------------------------------------
    def lane(self, name: str | None) -> Lane:
        key = name or ""
        if key not in self.lanes:
            self.lanes[key] = Lane(key)
        return self.lanes[key]

    def feed(self, chunk: StreamChunk) -> list[dict[str, Any]]:
        fresh = (chunk.agent or "") not in self.lanes
        lane = self.lane(chunk.agent)
        ops = self._feed(lane, chunk)
        if fresh and lane.name:
            ops.insert(0, {"lane": lane.name, "field": "title", "title": lane.title})
        return ops

    def _feed(self, lane: Lane, chunk: StreamChunk) -> list[dict[str, Any]]:
        phase = chunk.phase
        if phase is Phase.TEXT or phase is Phase.THINKING:
            ops = self._delta(lane, phase, chunk.content or "")
            if phase is Phase.TEXT:
                self.last_lane = lane.name
            return ops
        if phase is Phase.TOOL_CALL:
            return [self._tool_call(lane, chunk.content or {})]
        if phase is Phase.TOOL_RESULT:
            return self._tool_result(lane, chunk.content or {})
        if phase is Phase.DONE:
            return self._done(lane, chunk.content or {})
        if phase is Phase.IMAGE_PROGRESS:
            return [self._image(lane, chunk.content or {})]
        return []

    def _image(self, lane: Lane, info: dict[str, Any]) -> dict[str, Any]:
        """A preview or a finished image: the view gets a small JPEG (a finished one as a
        larger thumbnail); the finished PNG itself is kept for the saved output."""
        from workbench.notebook.thumbnails import thumbnail_url

        index = int(info.get("image_index") or 0)
        final = bool(info.get("final"))
        preview = info.get("preview")
        entry = lane.images.get(index, {"index": index, "src": None})
        entry.update(step=info.get("step"), total=info.get("total"), final=final)
        if isinstance(preview, (bytes, bytearray)):
            entry["src"] = thumbnail_url(bytes(preview), FINAL_SIDE if final else PREVIEW_SIDE)
            if final:
                lane.final_pngs[index] = bytes(preview)
        lane.images[index] = entry
        return {"lane": lane.name, "field": "image", "image": dict(entry)}

    def _delta(self, lane: Lane, phase: Phase, text: str) -> list[dict[str, Any]]:
        if not isinstance(text, str) or not text:
            return []
        self.delta_count += 1
        self.open_deltas += 1
        if phase is Phase.THINKING:
            lane.thinking += text
            return [{"lane": lane.name, "field": "thinking", "append": text}]
        if not lane.in_turn_text:
            lane.in_turn_text = True
            lane.answer = ""
            if not lane.text:
                lane.rounds = 1
            else:                              # a later model turn of the same lane
                lane.answer = text
                if self.last_lane != lane.name:
                    # another lane spoke in between: a new round (an evaluator's loop, a
                    # re-run step), marked so the rounds do not run together
                    lane.rounds += 1
                    text = f"\n\n---\n\n*round {lane.rounds}*\n\n" + text
                else:                          # the same run, after a tool call
                    text = "\n\n" + text
                lane.text += text
                return [{"lane": lane.name, "field": "text", "append": text}]
        lane.answer += text
        lane.text += text
        return [{"lane": lane.name, "field": "text", "append": text}]

    def _tool_call(self, lane: Lane, call: dict[str, Any]) -> dict[str, Any]:
        entry = {"id": str(call.get("id") or f"call-{len(lane.tools) + 1}"), "name": str(call.get("name", "?")),
                 "arguments": call.get("arguments"), "status": "requested", "result": None, "is_error": False}
        lane.tools.append(entry)
        return {"lane": lane.name, "field": "tool", "tool": dict(entry)}

    def _tool_result(self, lane: Lane, result: dict[str, Any]) -> list[dict[str, Any]]:
        call_id = str(result.get("id") or "")
        entry = next((t for t in lane.tools if t["id"] == call_id), None)
        if entry is None:  # a result whose call we never saw (e.g. a lane started mid-run)
            self._tool_call(lane, {"id": call_id, "name": result.get("name", "?")})
            entry = lane.tools[-1]
        content = result.get("content")
        content = content if isinstance(content, str) else repr(content)
        if len(content) > RESULT_PREVIEW_CHARS:
            content = content[:RESULT_PREVIEW_CHARS] + f"… ({len(content)} characters)"
        entry.update(status="error" if result.get("is_error") else "done", result=content,
                     is_error=bool(result.get("is_error")))
        return [{"lane": lane.name, "field": "tool", "tool": dict(entry)}]

    def _done(self, lane: Lane, info: dict[str, Any]) -> list[dict[str, Any]]:
        lane.turns += 1
        lane.in_turn_text = False
        self.open_deltas = 0
        for key, value in (info.get("usage") or {}).items():
            if isinstance(value, int):
                self.usage[key] = self.usage.get(key, 0) + value
        if info.get("model") and not self.model:
            self.model = str(info["model"])
        if info.get("finish_reason") == "length":
            self.cut = True
        ops = []
        for entry in lane.tools:
            if entry["status"] == "requested":
                entry["status"] = "running"
                ops.append({"lane": lane.name, "field": "tool", "tool": dict(entry)})
        ops.append({"lane": "", "field": "meta", "footer": self.footer()})
        return ops

    # -- ending -----------------------------------------------------------------------------
    def finish(self, status: str = "done", error: str = "") -> None:
        self.status = status
        self.error = error
        self.ended = self.clock()

    # -- reading ----------------------------------------------------------------------------
    @property
    def elapsed_s(self) -> float:
        end = self.ended if self.ended is not None else self.clock()
        return max(0.0, end - self.started)

    @property
    def output_tokens(self) -> int:
        """Counted tokens of finished turns plus an estimate (one per delta) for the open one."""
        if "output_tokens" not in self.usage:
            return self.delta_count
        return self.usage["output_tokens"] + self.open_deltas

    @property
    def answer(self) -> str:
        """The final answer: the latest model turn of the lane that spoke last."""
        lane = self.lanes.get(self.last_lane)
        return lane.answer if lane is not None else ""

    @property
    def thinking(self) -> str:
        return "\n\n".join(l.thinking for l in self.lanes.values() if l.thinking)

    def footer(self) -> dict[str, Any]:
        elapsed = self.elapsed_s
        out = self.output_tokens
        images = sum(len(lane.images) for lane in self.lanes.values())
        rate = round(out / elapsed, 1) if elapsed > 0 and not images else None    # tok/s means nothing for an image
        return {"model": self.model, "input_tokens": self.usage.get("input_tokens"),
                "output_tokens": out, "estimated": "output_tokens" not in self.usage or self.open_deltas > 0,
                "elapsed_s": round(elapsed, 3), "tokens_per_s": rate, "images": images,
                "status": self.status, "error": self.error, "cut": self.cut, "limit": self.limit}

    def snapshot(self, *, saved: bool = False) -> dict[str, Any]:
        """The whole state. ``saved``: what the output kept in the notebook shows: of the
        images only the finished ones, each as its full PNG (no previews, no thumbnails)."""
        shown = [lane for lane in self.lanes.values()
                 if lane.text or lane.thinking or lane.tools or lane.images or len(self.lanes) == 1]
        lanes = [lane.as_dict() for lane in shown]
        if saved:
            from workbench.notebook.thumbnails import png_url

            for data, lane in zip(lanes, shown):
                data["images"] = [{**lane.images[i], "src": png_url(lane.final_pngs[i])}
                                  for i in sorted(lane.final_pngs)]
        return {"status": self.status, "model": self.model, "error": self.error, "render": self.render,
                "lanes": lanes, "footer": self.footer(), "checkpoint": self.checkpoint}
