"""The Ollama ``/api/chat`` wire protocol. Pure: request kwargs in, StreamChunks out.

Ollama messages are close to OpenAI's: text content is a string, images ride in a list
of base64 strings, tool-call arguments are dicts (not JSON strings), a tool result names
its tool in ``tool_name``. Sampling options go in ``options`` under Ollama's names.
Thinking comes natively in ``message.thinking`` when ``think=`` is set, and inline as
``<think>`` tags from models whose template does not separate it.
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator

from workbench.errors import ConfigurationError
from workbench.models.chunks import Phase, StreamChunk
from workbench.models.inputs import split_data_url
from workbench.models.spec import ModelSpec
from workbench.models.thinking import ThinkSplitter
from workbench.models.turn import done_chunk, parse_arguments
from workbench.models.wire import common
from workbench.models.wire.common import ToolCallAccumulator, get

OPTION_NAMES = {"max_tokens": "num_predict", "max_new_tokens": "num_predict", "max_completion_tokens": "num_predict",
                "repetition_penalty": "repeat_penalty"}
TOP_LEVEL = {"format", "keep_alive"}
EFFORTS = ("low", "medium", "high")


def build_request(spec: ModelSpec, messages: list[dict[str, Any]], tools: list[dict] | None,
                  options: dict[str, Any], stream: bool, **_: Any) -> dict[str, Any]:
    request: dict[str, Any] = {"model": spec.id, "messages": [to_wire(m) for m in messages], "stream": stream}
    if tools:
        request["tools"] = tools
    sampling: dict[str, Any] = {}
    for key, value in options.items():
        if value is None or key == "thinking":
            continue
        if key in TOP_LEVEL:
            request[key] = value
        else:
            sampling[OPTION_NAMES.get(key, key)] = value
    if sampling:
        request["options"] = sampling
    think = think_param(spec, options.get("thinking"))
    if think is not None:
        request["think"] = think
    return request


def think_param(spec: ModelSpec, thinking: Any) -> "bool | str | None":
    if thinking is None or (spec.known and not spec.thinking):
        return None   # non-thinking models reject think=
    if isinstance(thinking, str):
        if thinking not in EFFORTS:
            raise ValueError(f"thinking={thinking!r}: use True, False, or one of {EFFORTS}.")
        return thinking
    return bool(thinking)


def to_wire(message: dict[str, Any]) -> dict[str, Any]:
    role = message.get("role")
    content = message.get("content")
    out: dict[str, Any] = {"role": role, "content": ""}
    if isinstance(content, str):
        out["content"] = content
    elif content:
        out["content"] = "".join(p.get("text", "") for p in content if p.get("type") == "text")
        images = [image_data(get(p.get("image_url"), "url")) for p in content if p.get("type") == "image_url"]
        if images:
            out["images"] = images
    if role == "assistant" and message.get("tool_calls"):
        out["tool_calls"] = [{"function": {"name": c["function"]["name"],
                                           "arguments": _dict_args(c["function"].get("arguments"))}}
                             for c in message["tool_calls"]]
    if role == "tool" and message.get("name"):
        out["tool_name"] = message["name"]
    return out


def image_data(url: str) -> str:
    data = split_data_url(url or "")
    if data is None:
        raise ConfigurationError(f"Ollama takes images as files or bytes, not URLs ({url[:80]!r}): download "
                                 "the image and pass its path or bytes.")
    return data[1]


def _dict_args(arguments: Any) -> dict[str, Any]:
    value = parse_arguments(arguments)
    return value if isinstance(value, dict) else {"raw": value}


# -- responses ---------------------------------------------------------------------------------

class StreamParser:
    """Push parser over ChatResponse parts (NDJSON lines); the last has ``done: true``."""

    def __init__(self, *, split_tags: bool = True, start_in_thinking: bool = False, provider: str = "ollama"):
        self.splitter = ThinkSplitter(start_in_thinking) if split_tags else None
        self.calls = ToolCallAccumulator()
        self.provider = provider
        self.final: Any = None

    def feed(self, part: Any) -> list[StreamChunk]:
        out: list[StreamChunk] = []
        message = get(part, "message")
        thinking = get(message, "thinking")
        if thinking:
            out.append(StreamChunk(Phase.THINKING, thinking))
        content = get(message, "content")
        if content:
            out.extend(self.splitter.feed(content) if self.splitter else (StreamChunk(Phase.TEXT, content),))
        for call in get(message, "tool_calls") or ():
            function = get(call, "function")
            self.calls.add(len(self.calls), get(call, "id"), get(function, "name"),
                           common.as_dict(get(function, "arguments")))
        if get(part, "done"):
            self.final = part
        return out

    def end(self) -> list[StreamChunk]:
        if self.final is None:
            raise common.stream_ended(self.provider)
        out = self.salvage()
        has_calls = bool(self.calls)
        out.extend(self.calls.chunks())
        reason = get(self.final, "done_reason") or "stop"
        if has_calls and reason == "stop":
            reason = "tool_calls"
        usage = {"input_tokens": get(self.final, "prompt_eval_count"), "output_tokens": get(self.final, "eval_count")}
        out.append(done_chunk(usage={k: v for k, v in usage.items() if isinstance(v, int)},
                              finish_reason=common.finish_reason(reason), model=get(self.final, "model")))
        return out

    def salvage(self) -> list[StreamChunk]:
        return self.splitter.flush() if self.splitter else []


def parse_stream(events: Iterable[Any], **kwargs: Any) -> Iterator[StreamChunk]:
    return common.drain(StreamParser(**kwargs), events)


def parse_response(response: Any, **kwargs: Any) -> Iterator[StreamChunk]:
    """A non-streamed ChatResponse is one part with ``done: true``."""
    return common.drain(StreamParser(**kwargs), [response])


def map_error(exc: BaseException, *, provider: str = "ollama", host: str | None = None,
              started: bool = False, model: str | None = None):
    message = getattr(exc, "error", None)
    return common.map_error(exc, provider=provider, host=host, started=started,
                            message=str(message) if message else None, model=model)
