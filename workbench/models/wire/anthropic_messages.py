"""The Anthropic Messages wire protocol. Pure: request kwargs in, StreamChunks out.

History stays in OpenAI format; this adapter translates at request time, never touching
the caller's list: leading system messages become ``system``, tool results become
``tool_result`` blocks in a user message, assistant ``tool_calls`` become ``tool_use``
blocks, images become base64 or URL image blocks, and consecutive messages of one role
are merged (the API wants user and assistant to alternate).
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator

from workbench.errors import ConfigurationError
from workbench.models.chunks import Phase, StreamChunk
from workbench.models.inputs import split_data_url
from workbench.models.spec import ModelSpec
from workbench.models.turn import done_chunk, parse_arguments
from workbench.models.wire import common
from workbench.models.wire.common import as_dict, get, tool_call_chunk

DEFAULT_MAX_TOKENS = 4096          # the API requires max_tokens on every request
DEFAULT_THINKING_BUDGET = 2048
MIN_THINKING_BUDGET = 1024         # the API's lower bound
EFFORT_BUDGETS = {"minimal": 1024, "low": 1024, "medium": 4096, "high": 16384}
# Named SDK parameters. Sampling options (temperature, top_p, top_k) travel in extra_body: SDK 2.x
# dropped them from messages.create's signature while the API still takes them.
SDK_PARAMS = {"metadata", "service_tier"}


def build_request(spec: ModelSpec, messages: list[dict[str, Any]], tools: list[dict] | None,
                  options: dict[str, Any], stream: bool, **_: Any) -> dict[str, Any]:
    system, body = to_wire(messages)
    request: dict[str, Any] = {"model": spec.id, "messages": body}
    if system:
        request["system"] = system
    if stream:
        request["stream"] = True
    if tools:
        request["tools"] = [tool_spec(t) for t in tools]
    extra: dict[str, Any] = {}
    max_tokens = None
    for key, value in options.items():
        if value is None or key in ("thinking", "seed"):   # no seed on this API
            continue
        if key in ("max_tokens", "max_new_tokens", "max_completion_tokens"):
            max_tokens = int(value)
        elif key == "stop":
            request["stop_sequences"] = [value] if isinstance(value, str) else list(value)
        elif key == "tool_choice":
            request["tool_choice"] = tool_choice(value)
        elif key in SDK_PARAMS:
            request[key] = value
        else:
            extra[key] = value
    budget = thinking_budget(spec, options.get("thinking"))
    if budget is not None and continues_tool_turn(messages) and not replays_signed_thinking(messages):
        # With thinking on, the API wants this turn's signed thinking blocks replayed before its
        # tool_use blocks. They ride on the assistant message (provider_data) when this client
        # produced it; a history from elsewhere has none, so continue without thinking (the API
        # accepts that) instead of failing with a 400.
        budget = None
    if budget is not None:
        request["thinking"] = {"type": "enabled", "budget_tokens": budget}
        if max_tokens is None:
            max_tokens = budget + DEFAULT_MAX_TOKENS
        elif max_tokens <= budget:
            raise ConfigurationError(
                f"max_tokens={max_tokens} must exceed the thinking budget ({budget}) on Anthropic: raise "
                f"max_tokens or pass a smaller thinking=<budget>.")
    request["max_tokens"] = max_tokens or DEFAULT_MAX_TOKENS
    if extra:
        request["extra_body"] = extra
    return request


def thinking_budget(spec: ModelSpec, thinking: Any) -> int | None:
    """Budget tokens for ``thinking=`` (True, an effort name or a number); None: do not ask."""
    if thinking is None or thinking is False:
        return None
    if spec.known and not spec.thinking:
        return None   # the model would reject the parameter
    if thinking is True:
        return DEFAULT_THINKING_BUDGET
    if isinstance(thinking, str):
        if thinking not in EFFORT_BUDGETS:
            raise ValueError(f"thinking={thinking!r}: use True, False, a token budget, or one of "
                             f"{tuple(EFFORT_BUDGETS)}.")
        return EFFORT_BUDGETS[thinking]
    if isinstance(thinking, int):
        return max(MIN_THINKING_BUDGET, thinking)
    raise ValueError(f"thinking={thinking!r}: use True, False, a token budget, or an effort name.")


def continues_tool_turn(messages: list[dict[str, Any]]) -> bool:
    """The request continues an assistant turn after its tool results came back."""
    return bool(messages) and messages[-1].get("role") == "tool"


def replays_signed_thinking(messages: list[dict[str, Any]]) -> bool:
    """The assistant message that requested the pending tools carries its signed thinking."""
    for message in reversed(messages):
        if message.get("role") == "assistant":
            return bool(signed_thinking(message))
    return False


def signed_thinking(message: dict[str, Any]) -> list[dict[str, Any]]:
    data = (message.get("provider_data") or {}).get("anthropic") or {}
    return [dict(b) for b in data.get("thinking_blocks") or ()]


def tool_spec(tool: dict[str, Any]) -> dict[str, Any]:
    function = tool.get("function", tool)
    return {"name": function["name"], "description": function.get("description", ""),
            "input_schema": function.get("parameters") or {"type": "object", "properties": {}}}


def tool_choice(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        name = get(value.get("function"), "name") or value.get("name")
        return {"type": "tool", "name": name} if name else value
    return {"type": {"required": "any", "auto": "auto", "none": "none", "any": "any"}.get(value, value)}


# -- messages ----------------------------------------------------------------------------------

def to_wire(messages: list[dict[str, Any]]) -> tuple[str | None, list[dict[str, Any]]]:
    """``(system, messages)`` in Anthropic's shape; new dicts, the input is not modified."""
    system_parts: list[str] = []
    out: list[dict[str, Any]] = []
    for message in messages:
        role = message.get("role")
        if role == "system":
            text = _text_of(message.get("content"))
            if text:
                system_parts.append(text)
            continue
        if role == "tool":
            role, blocks = "user", [{"type": "tool_result", "tool_use_id": message.get("tool_call_id"),
                                     "content": _text_of(message.get("content"))}]
        elif role == "assistant":
            blocks = signed_thinking(message) + content_blocks(message.get("content"))
            for call in message.get("tool_calls") or ():
                function = call.get("function", {})
                arguments = parse_arguments(function.get("arguments"))
                blocks.append({"type": "tool_use", "id": call.get("id"), "name": function.get("name"),
                               "input": arguments if isinstance(arguments, dict) else {"raw": arguments}})
        else:
            role, blocks = "user", content_blocks(message.get("content"))
        if not blocks:
            continue   # the API rejects empty turns
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})
    for message in out:   # plain text turns read better as strings
        blocks = message["content"]
        if len(blocks) == 1 and blocks[0]["type"] == "text":
            message["content"] = blocks[0]["text"]
    return ("\n\n".join(system_parts) or None), out


def content_blocks(content: Any) -> list[dict[str, Any]]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    blocks = []
    for part in content:
        kind = part.get("type")
        if kind == "text":
            if part.get("text"):
                blocks.append({"type": "text", "text": part["text"]})
        elif kind == "image_url":
            blocks.append(image_block(get(part.get("image_url"), "url") or part.get("image_url")))
        else:
            blocks.append(dict(part))   # already an Anthropic block
    return blocks


def image_block(url: str) -> dict[str, Any]:
    data = split_data_url(url)
    if data is None:
        return {"type": "image", "source": {"type": "url", "url": url}}
    media_type, payload = data
    return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": payload}}


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if content is None:
        return ""
    return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")


# -- responses ---------------------------------------------------------------------------------

def parse_response(response: Any, **_: Any) -> Iterator[StreamChunk]:
    calls, signed = [], []
    for block in get(response, "content") or ():
        kind = get(block, "type")
        if kind in ("thinking", "redacted_thinking"):
            signed.append(as_dict(block))
        if kind == "thinking" and get(block, "thinking"):
            yield StreamChunk(Phase.THINKING, get(block, "thinking"))
        elif kind == "text" and get(block, "text"):
            yield StreamChunk(Phase.TEXT, get(block, "text"))
        elif kind == "tool_use":
            calls.append(tool_call_chunk(get(block, "id"), get(block, "name"), as_dict(get(block, "input"))))
    yield from calls
    yield done_chunk(usage=as_dict(get(response, "usage")),
                     finish_reason=common.finish_reason(get(response, "stop_reason")), model=get(response, "model"),
                     provider_data=thinking_data(signed))


def thinking_data(blocks: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Signed thinking blocks as they must be replayed (signature kept; nothing else)."""
    keep = [{k: v for k, v in b.items() if k in ("type", "thinking", "signature", "data")} for b in blocks
            if b.get("signature") or b.get("type") == "redacted_thinking"]
    return {"anthropic": {"thinking_blocks": keep}} if keep else None


class StreamParser:
    """Push parser over the SDK's raw stream events (message_start ... message_stop)."""

    def __init__(self, *, provider: str = "anthropic", **_: Any):
        self.provider = provider
        self.model = self.stop_reason = None
        self.usage: dict[str, int] = {}
        self.tools: dict[int, dict[str, Any]] = {}
        self.thinking_blocks: dict[int, dict[str, Any]] = {}
        self.stopped = False

    def feed(self, event: Any) -> list[StreamChunk]:
        kind = get(event, "type")
        if kind == "content_block_delta":
            delta = get(event, "delta")
            dtype = get(delta, "type")
            if dtype == "text_delta" and get(delta, "text"):
                return [StreamChunk(Phase.TEXT, get(delta, "text"))]
            if dtype == "thinking_delta" and get(delta, "thinking"):
                block = self.thinking_blocks.get(get(event, "index"))
                if block is not None:
                    block["thinking"] += get(delta, "thinking")
                return [StreamChunk(Phase.THINKING, get(delta, "thinking"))]
            if dtype == "signature_delta":
                block = self.thinking_blocks.get(get(event, "index"))
                if block is not None:
                    block["signature"] = block.get("signature", "") + (get(delta, "signature") or "")
                return []
            if dtype == "input_json_delta":
                self.tools[get(event, "index")]["json"] += get(delta, "partial_json") or ""
            return []
        if kind == "content_block_start":
            block = get(event, "content_block")
            btype = get(block, "type")
            if btype == "tool_use":
                self.tools[get(event, "index")] = {"id": get(block, "id"), "name": get(block, "name"), "json": ""}
            elif btype == "text" and get(block, "text"):
                return [StreamChunk(Phase.TEXT, get(block, "text"))]
            elif btype in ("thinking", "redacted_thinking"):
                self.thinking_blocks[get(event, "index")] = as_dict(block) | (
                    {"thinking": get(block, "thinking") or ""} if btype == "thinking" else {})
                if btype == "thinking" and get(block, "thinking"):
                    return [StreamChunk(Phase.THINKING, get(block, "thinking"))]
            return []
        if kind == "content_block_stop":
            tool = self.tools.pop(get(event, "index"), None)
            if tool is not None:
                return [tool_call_chunk(tool["id"], tool["name"], tool["json"] or "{}")]
            return []
        if kind == "message_start":
            message = get(event, "message")
            self.model = get(message, "model")
            self._usage(get(message, "usage"))
        elif kind == "message_delta":
            self.stop_reason = get(get(event, "delta"), "stop_reason") or self.stop_reason
            self._usage(get(event, "usage"))
        elif kind == "message_stop":
            self.stopped = True
        return []

    def _usage(self, usage: Any) -> None:
        for key, value in as_dict(usage).items():
            if isinstance(value, int):
                self.usage[key] = value

    def end(self) -> list[StreamChunk]:
        if not self.stopped:
            raise common.stream_ended(self.provider)
        blocks = [self.thinking_blocks[i] for i in sorted(self.thinking_blocks)]
        return [done_chunk(usage=self.usage, finish_reason=common.finish_reason(self.stop_reason),
                           model=self.model, provider_data=thinking_data(blocks))]


def parse_stream(events: Iterable[Any], **kwargs: Any) -> Iterator[StreamChunk]:
    return common.drain(StreamParser(**kwargs), events)


def error_message(exc: BaseException) -> str | None:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
    return None


def map_error(exc: BaseException, *, provider: str = "anthropic", host: str | None = None,
              started: bool = False, model: str | None = None):
    return common.map_error(exc, provider=provider, host=host, started=started,
                            message=error_message(exc), model=model)
