"""The OpenAI chat-completions wire protocol (OpenAI and every OpenAI-compatible server).

Pure: builds the keyword arguments of ``client.chat.completions.create`` and turns its
responses and stream events into StreamChunks. Thinking arrives natively as
``reasoning_content`` / ``reasoning`` delta fields (vLLM, DeepSeek, llama.cpp, LM Studio,
OpenRouter) or inline as ``<think>`` tags, which the ThinkSplitter separates.
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator

from workbench.models.chunks import Phase, StreamChunk
from workbench.models.spec import ModelSpec
from workbench.models.thinking import ThinkSplitter
from workbench.models.turn import done_chunk, wire_message
from workbench.models.wire import common
from workbench.models.wire.common import ToolCallAccumulator, as_dict, get

# Parameters the SDK takes by name; anything else travels in extra_body for the server.
SDK_PARAMS = {"temperature", "top_p", "stop", "seed", "frequency_penalty", "presence_penalty", "n",
              "response_format", "tool_choice", "parallel_tool_calls", "logprobs", "top_logprobs", "user",
              "logit_bias", "reasoning_effort", "metadata", "store", "service_tier", "verbosity"}
REASONING_FIELDS = ("reasoning_content", "reasoning")
EFFORTS = ("minimal", "low", "medium", "high")
# Servers that run open models and read chat-template switches.
TEMPLATE_SERVERS = {"vllm", "llamacpp-server", "hf-serve", "lmstudio", "openai-compat"}


def build_request(spec: ModelSpec, messages: list[dict[str, Any]], tools: list[dict] | None,
                  options: dict[str, Any], stream: bool, *, provider: str = "openai") -> dict[str, Any]:
    request: dict[str, Any] = {"model": spec.id, "messages": [to_wire(m) for m in messages]}
    if stream:
        request["stream"] = True
        request["stream_options"] = {"include_usage": True}
    if tools:
        request["tools"] = tools
    extra: dict[str, Any] = {}
    for key, value in options.items():
        if value is None or key == "thinking":
            continue
        if key in ("max_tokens", "max_new_tokens", "max_completion_tokens"):
            # OpenAI's reasoning models accept only max_completion_tokens; other servers know max_tokens.
            request["max_completion_tokens" if provider == "openai" else "max_tokens"] = value
        elif key in SDK_PARAMS:
            request[key] = value
        else:
            extra[key] = value
    _thinking(request, extra, spec, options.get("thinking"), provider)
    if extra:
        request["extra_body"] = extra
    return request


def _thinking(request: dict, extra: dict, spec: ModelSpec, thinking: Any, provider: str) -> None:
    if thinking is None or "reasoning_effort" in request:
        return
    if provider in TEMPLATE_SERVERS:
        # Qwen3-style templates switch reasoning with a template variable.
        extra.setdefault("chat_template_kwargs", {})["enable_thinking"] = bool(thinking)
        return
    if not (spec.thinking or not spec.known):
        return   # a known non-reasoning model would reject reasoning_effort
    if thinking is False:
        if provider == "gemini":
            request["reasoning_effort"] = "none"
        return
    request["reasoning_effort"] = effort(thinking)


def effort(thinking: Any) -> str:
    """True / a token budget / an effort name, as an OpenAI reasoning_effort."""
    if isinstance(thinking, str):
        if thinking not in EFFORTS:
            raise ValueError(f"thinking={thinking!r}: use True, False, a token budget, or one of {EFFORTS}.")
        return thinking
    if thinking is True:
        return "medium"
    if isinstance(thinking, int):
        return "low" if thinking <= 2048 else "medium" if thinking <= 8192 else "high"
    raise ValueError(f"thinking={thinking!r}: use True, False, a token budget, or one of {EFFORTS}.")


def to_wire(message: dict[str, Any]) -> dict[str, Any]:
    out = wire_message(message)
    if out.get("role") == "tool":
        out.pop("name", None)   # not part of the tool message schema; strict servers reject it
    return out


# -- responses ---------------------------------------------------------------------------------

class StreamParser:
    """Push parser for stream events: ``feed(event)`` and ``end()`` return StreamChunks."""

    def __init__(self, *, split_tags: bool = True, start_in_thinking: bool = False, provider: str = "openai"):
        self.splitter = ThinkSplitter(start_in_thinking) if split_tags else None
        self.calls = ToolCallAccumulator()
        self.provider = provider
        self.finish = self.usage = self.model = None

    def feed(self, event: Any) -> list[StreamChunk]:
        out: list[StreamChunk] = []
        if self.model is None:
            self.model = get(event, "model")
        usage = get(event, "usage")
        if usage:
            self.usage = as_dict(usage)
        for choice in get(event, "choices") or ():
            delta = get(choice, "delta")
            reasoning = _reasoning(delta)
            if reasoning:
                out.append(StreamChunk(Phase.THINKING, reasoning))
            content = get(delta, "content")
            if content:
                out.extend(self.splitter.feed(content) if self.splitter else (StreamChunk(Phase.TEXT, content),))
            for call in get(delta, "tool_calls") or ():
                function = get(call, "function")
                self.calls.add(get(call, "index"), get(call, "id"), get(function, "name"),
                               get(function, "arguments"))
            if get(choice, "finish_reason"):
                self.finish = get(choice, "finish_reason")
        return out

    def end(self) -> list[StreamChunk]:
        if self.finish is None:
            raise common.stream_ended(self.provider)
        out = self.salvage()
        out.extend(self.calls.chunks())
        out.append(done_chunk(usage=self.usage, finish_reason=common.finish_reason(self.finish), model=self.model))
        return out

    def salvage(self) -> list[StreamChunk]:
        """Text held back by the tag splitter, for the partial answer of a failed stream."""
        return self.splitter.flush() if self.splitter else []


def parse_stream(events: Iterable[Any], **kwargs: Any) -> Iterator[StreamChunk]:
    return common.drain(StreamParser(**kwargs), events)


def parse_response(response: Any, *, split_tags: bool = True, start_in_thinking: bool = False,
                   provider: str = "openai") -> Iterator[StreamChunk]:
    choices = get(response, "choices") or []
    if not choices:
        raise common.stream_ended(provider)
    message = get(choices[0], "message")
    reasoning = _reasoning(message)
    if reasoning:
        yield StreamChunk(Phase.THINKING, reasoning)
    content = get(message, "content") or ""
    if content:
        if split_tags:
            splitter = ThinkSplitter(start_in_thinking)
            yield from splitter.feed(content)
            yield from splitter.flush()
        else:
            yield StreamChunk(Phase.TEXT, content)
    calls = ToolCallAccumulator()
    for n, call in enumerate(get(message, "tool_calls") or ()):
        function = get(call, "function")
        calls.add(n, get(call, "id"), get(function, "name"), get(function, "arguments"))
    yield from calls.chunks()
    yield done_chunk(usage=as_dict(get(response, "usage")),
                     finish_reason=common.finish_reason(get(choices[0], "finish_reason")),
                     model=get(response, "model"))


def _reasoning(delta: Any) -> str | None:
    for name in REASONING_FIELDS:
        value = get(delta, name)
        if isinstance(value, str) and value:
            return value
    return None


def error_message(exc: BaseException) -> str | None:
    """The server's own words from an OpenAI-style error body."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
        if isinstance(inner, str):
            return inner
    return None


def map_error(exc: BaseException, *, provider: str = "openai", host: str | None = None,
              started: bool = False, model: str | None = None):
    return common.map_error(exc, provider=provider, host=host, started=started,
                            message=error_message(exc), model=model)
