"""TurnResult: what one model turn produced, accumulated from its StreamChunks.

Every provider, streaming or not, sync or async, reports a turn as chunks; this one
accumulator turns them into the assistant message that goes into history. A failed turn
keeps its TurnResult as the ``partial`` of the error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from workbench.models.chunks import Phase, StreamChunk

# Keys an assistant message may carry for us that providers never see.
METADATA_KEYS = ("thinking", "provider_data", "usage", "model", "finish_reason", "elapsed_s", "partial")
WIRE_KEYS = ("role", "content", "tool_calls", "tool_call_id", "name")


@dataclass
class TurnResult:
    text_parts: list[str] = field(default_factory=list)
    thinking_parts: list[str] = field(default_factory=list)
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    usage: dict[str, int] = field(default_factory=dict)
    finish_reason: str | None = None
    elapsed_s: float | None = None
    model: str | None = None
    provider_data: dict[str, Any] = field(default_factory=dict)
    done: bool = False

    @property
    def text(self) -> str:
        return "".join(self.text_parts)

    @property
    def thinking(self) -> str:
        return "".join(self.thinking_parts)

    def feed(self, chunk: StreamChunk) -> None:
        if chunk.phase is Phase.TEXT:
            self.text_parts.append(chunk.content)
        elif chunk.phase is Phase.THINKING:
            self.thinking_parts.append(chunk.content)
        elif chunk.phase is Phase.TOOL_CALL:
            self.tool_calls.append(chunk.content)
        elif chunk.phase is Phase.DONE:
            info = chunk.content or {}
            self.usage = dict(info.get("usage") or {})
            self.finish_reason = info.get("finish_reason")
            self.elapsed_s = info.get("elapsed_s")
            self.model = info.get("model")
            self.provider_data = dict(info.get("provider_data") or {})
            self.done = True

    def assistant_message(self) -> dict[str, Any]:
        """The OpenAI-format assistant message for history (thinking rides as metadata)."""
        message: dict[str, Any] = {"role": "assistant", "content": self.text}
        if self.tool_calls:
            message["tool_calls"] = [
                {"id": call["id"], "type": "function",
                 "function": {"name": call["name"], "arguments": arguments_json(call.get("arguments"))}}
                for call in self.tool_calls
            ]
        if self.thinking:
            message["thinking"] = self.thinking
        if self.provider_data:
            # What only the provider can use again (e.g. Anthropic's signed thinking blocks, which
            # must be replayed before tool results); stripped from every other provider's request.
            message["provider_data"] = self.provider_data
        return message


class AnswerText:
    """The answer of a whole chat, fed its chunks: the text of its last model call.

    Earlier model calls of the chat led to tools; their text is not the answer. With
    ``own_only`` (a client's chat) chunks already tagged with an agent are passed over: they
    came from a tool (an orchestrator's worker), not from this chat's model.
    """

    def __init__(self, own_only: bool = False) -> None:
        self._current: list[str] = []
        self.text = ""
        self.own_only = own_only

    def feed(self, chunk: StreamChunk) -> StreamChunk:
        if self.own_only and chunk.agent is not None:
            return chunk
        if chunk.phase is Phase.TEXT:
            self._current.append(chunk.content)
        elif chunk.phase is Phase.DONE:
            self.text, self._current = "".join(self._current), []
        return chunk

    @property
    def final(self) -> str:
        """The answer once the stream has ended: text after the last done chunk, if any (a
        stream with no done chunks, such as a user runner's, is all answer), else ``text``."""
        return "".join(self._current) if self._current else self.text


def arguments_json(arguments: Any) -> str:
    if arguments is None:
        return "{}"
    if isinstance(arguments, str):
        return arguments
    return json.dumps(arguments, ensure_ascii=False)


def parse_arguments(raw: Any) -> Any:
    """Tool-call arguments as a dict when they are JSON, else the raw string (for the model to fix)."""
    if isinstance(raw, dict):
        return raw
    if raw is None or raw == "":
        return {}
    try:
        value = json.loads(raw)
    except (TypeError, ValueError):
        return raw
    return value if isinstance(value, dict) else raw


def wire_message(message: dict[str, Any]) -> dict[str, Any]:
    """A history message without our metadata keys, as providers should see it."""
    return {k: v for k, v in message.items() if k in WIRE_KEYS}


def done_chunk(*, usage: dict | None = None, finish_reason: str | None = None,
               elapsed_s: float | None = None, model: str | None = None,
               provider_data: dict | None = None) -> StreamChunk:
    info = {"usage": normalize_usage(usage), "finish_reason": finish_reason, "elapsed_s": elapsed_s, "model": model}
    if provider_data:
        info["provider_data"] = provider_data
    return StreamChunk(Phase.DONE, info)


def normalize_usage(usage: dict | None) -> dict[str, int]:
    """Usage under one set of names: input_tokens, output_tokens (plus any extras given)."""
    if not usage:
        return {}
    out = {k: v for k, v in usage.items() if isinstance(v, int)}
    if "prompt_tokens" in out and "input_tokens" not in out:
        out["input_tokens"] = out.pop("prompt_tokens")
    if "completion_tokens" in out and "output_tokens" not in out:
        out["output_tokens"] = out.pop("completion_tokens")
    out.pop("total_tokens", None)
    return out
