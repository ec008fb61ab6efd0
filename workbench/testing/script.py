"""What a fake server says: scripted replies (text, thinking, tool calls, errors, faults).

Each request to a chat endpoint takes the next ``Reply`` from the server's queue; when the
queue is empty the server's ``default`` reply answers (or an HTTP 500 that says to script
one). Plain data, so a test reads as its own script.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass
class ToolCall:
    name: str
    arguments: "dict[str, Any] | str" = field(default_factory=dict)
    id: str | None = None

    def __post_init__(self) -> None:
        if self.id is None:
            self.id = "call_" + uuid.uuid4().hex[:12]

    @property
    def arguments_json(self) -> str:
        return self.arguments if isinstance(self.arguments, str) else json.dumps(self.arguments)

    @property
    def arguments_dict(self) -> dict[str, Any]:
        if isinstance(self.arguments, dict):
            return self.arguments
        try:
            value = json.loads(self.arguments)
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}


@dataclass
class Reply:
    """One scripted answer.

    - ``text`` streamed as ``deltas`` pieces (None: about one word per delta).
    - ``thinking`` sent natively (``thinking_style="native"``: ``reasoning_content`` for
      OpenAI, thinking blocks for Anthropic, ``message.thinking`` for Ollama) or inline as
      ``<think>`` tags before the text (``"tags"``). ``reasoning_field`` picks the OpenAI
      field name (``"reasoning_content"`` or ``"reasoning"``).
    - ``tool_calls``: what the model asks to run.
    - ``status`` >= 400 answers an error with ``error`` as its message and an optional
      ``retry_after`` header (seconds).
    - ``delay`` before the first byte; ``chunk_delay`` between stream events.
    - ``drop_after``: close the socket after that many content deltas (a cut stream).
    - ``error_after``: after that many content deltas, send the protocol's in-stream error
      event (message ``error``, kind ``error_type``) and end the stream (e.g. an overload).
    - ``truncate``: end the stream cleanly but without its final event.
    - ``after``: ``(n, fn)``: call ``fn()`` in the server thread once ``n`` content deltas
      are sent (``(3, _thread.interrupt_main)``: a Ctrl-C mid-stream at a known point,
      not after a timer); for an answer that does not stream, once it is sent.
    """

    text: str = ""
    thinking: str | None = None
    thinking_style: str = "native"
    reasoning_field: str = "reasoning_content"
    tool_calls: list[ToolCall] = field(default_factory=list)
    usage: dict[str, int] | None = None
    finish_reason: str | None = None
    deltas: int | None = None
    status: int = 200
    error: str | None = None
    retry_after: float | None = None
    delay: float = 0.0
    chunk_delay: float = 0.0
    drop_after: int | None = None
    error_after: int | None = None
    error_type: str = "overloaded_error"
    truncate: bool = False
    model: str | None = None
    after: "tuple[int, Callable[[], Any]] | None" = None

    @property
    def is_error(self) -> bool:
        return self.status >= 400

    @property
    def inline_text(self) -> str:
        """The visible text, with thinking inlined as tags when so scripted."""
        if self.thinking and self.thinking_style == "tags":
            return f"<think>\n{self.thinking}\n</think>\n\n{self.text}"
        return self.text

    @property
    def native_thinking(self) -> str | None:
        return self.thinking if self.thinking and self.thinking_style != "tags" else None

    def pieces(self, text: str) -> list[str]:
        return split_text(text, self.deltas)

    def finish(self, tool_value: str = "tool_calls", stop_value: str = "stop") -> str:
        if self.finish_reason:
            return self.finish_reason
        return tool_value if self.tool_calls else stop_value

    def usage_for(self, request_body: Any) -> dict[str, int]:
        """Scripted usage, else a rough count (4 characters a token) so clients see numbers."""
        if self.usage is not None:
            return dict(self.usage)
        prompt = len(json.dumps(request_body.get("messages", ""))) // 4 if isinstance(request_body, dict) else 0
        out = (len(self.text) + len(self.thinking or "")) // 4 + 1
        return {"input_tokens": max(prompt, 1), "output_tokens": out}


_WORDS = re.compile(r"\s*\S+\s*|\s+")


def split_text(text: str, deltas: int | None = None) -> list[str]:
    """``text`` in ``deltas`` nearly equal pieces, or about one word per piece."""
    if not text:
        return []
    if deltas is None:
        return _WORDS.findall(text)
    deltas = max(1, min(deltas, len(text)))
    size, extra = divmod(len(text), deltas)
    out, start = [], 0
    for i in range(deltas):
        end = start + size + (1 if i < extra else 0)
        out.append(text[start:end])
        start = end
    return out


NO_REPLY = Reply(status=500, error="fake server: no scripted reply left; add one with server.add(Reply(...)) "
                                  "or start the server with default=Reply(...)")
