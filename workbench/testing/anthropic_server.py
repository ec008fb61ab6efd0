"""FakeAnthropicServer: ``POST /v1/messages`` as JSON or as the real SSE event sequence.

A stream is: message_start, then per block content_block_start / content_block_delta... /
content_block_stop (thinking with a signature_delta, text, tool_use with input_json_delta),
a ping, message_delta (stop_reason, usage), message_stop.
"""

from __future__ import annotations

import json
import uuid
from typing import Any, Iterator

from workbench.testing.script import Reply
from workbench.testing.server import FakeServer, Frame, frame

_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error",
                529: "overloaded_error"}
_STOP = {"stop": "end_turn", "tool_calls": "tool_use", "length": "max_tokens"}


class FakeAnthropicServer(FakeServer):
    """Speaks the Anthropic Messages API; pass ``base_url`` to the SDK or the client."""

    def handle(self, h, method: str, path: str, body: Any) -> None:
        if method == "POST" and path.endswith("/messages"):
            stream = bool(isinstance(body, dict) and body.get("stream"))
            self.serve_reply(h, self.next_reply(body), body, stream)
        else:
            self.not_found(h, path)

    def error_body(self, reply: Reply) -> Any:
        return {"type": "error", "error": {"type": _ERROR_TYPES.get(reply.status, "api_error"),
                                           "message": reply.error or f"fake HTTP {reply.status}"}}

    def stream_error_frame(self, reply: Reply) -> Frame:
        error = {"type": "error", "error": {"type": reply.error_type, "message": reply.error or "Overloaded"}}
        return frame(b"event: error\ndata: " + json.dumps(error).encode() + b"\n\n")

    @staticmethod
    def _stop(reply: Reply) -> str:
        return _STOP.get(reply.finish_reason or "", reply.finish_reason) or \
            ("tool_use" if reply.tool_calls else "end_turn")

    def _blocks(self, reply: Reply) -> list[dict[str, Any]]:
        blocks: list[dict[str, Any]] = []
        if reply.native_thinking:
            blocks.append({"type": "thinking", "thinking": reply.native_thinking, "signature": "fake-signature"})
        if reply.inline_text:
            blocks.append({"type": "text", "text": reply.inline_text})
        for call in reply.tool_calls:
            blocks.append({"type": "tool_use", "id": call.id, "name": call.name, "input": call.arguments_dict})
        return blocks

    def _message(self, reply: Reply, body: Any, content: list, stop: str | None, usage: dict) -> dict:
        return {"id": "msg_" + uuid.uuid4().hex[:20], "type": "message", "role": "assistant",
                "model": reply.model or body.get("model", "fake-model"), "content": content,
                "stop_reason": stop, "stop_sequence": None, "usage": usage}

    def response_body(self, reply: Reply, body: Any) -> Any:
        u = reply.usage_for(body)
        return self._message(reply, body, self._blocks(reply), self._stop(reply),
                             {"input_tokens": u["input_tokens"], "output_tokens": u["output_tokens"]})

    def stream_frames(self, reply: Reply, body: Any) -> Iterator[Frame]:
        # The real API sends one ping right after the first content_block_start.
        pinged = False
        for f in self._frames(reply, body):
            yield f
            if not pinged and f.startswith(b"event: content_block_start"):
                pinged = True
                yield frame(b'event: ping\ndata: {"type": "ping"}\n\n')

    def _frames(self, reply: Reply, body: Any) -> Iterator[Frame]:
        def event(name: str, data: dict, content: bool = False) -> Frame:
            return frame(b"event: %s\ndata: %s\n\n" % (name.encode(), json.dumps(data).encode()), content)

        u = reply.usage_for(body)
        yield event("message_start", {"type": "message_start", "message": self._message(
            reply, body, [], None, {"input_tokens": u["input_tokens"], "output_tokens": 1})})
        for index, block in enumerate(self._blocks(reply)):
            kind = block["type"]
            if kind == "thinking":
                yield event("content_block_start", {"type": "content_block_start", "index": index,
                                                    "content_block": {"type": "thinking", "thinking": "",
                                                                      "signature": ""}})
                for piece in reply.pieces(block["thinking"]):
                    yield event("content_block_delta", {"type": "content_block_delta", "index": index, "delta": {
                        "type": "thinking_delta", "thinking": piece}}, content=True)
                yield event("content_block_delta", {"type": "content_block_delta", "index": index, "delta": {
                    "type": "signature_delta", "signature": block["signature"]}})
            elif kind == "text":
                yield event("content_block_start", {"type": "content_block_start", "index": index,
                                                    "content_block": {"type": "text", "text": ""}})
                for piece in reply.pieces(block["text"]):
                    yield event("content_block_delta", {"type": "content_block_delta", "index": index, "delta": {
                        "type": "text_delta", "text": piece}}, content=True)
            else:
                yield event("content_block_start", {"type": "content_block_start", "index": index,
                                                    "content_block": {"type": "tool_use", "id": block["id"],
                                                                      "name": block["name"], "input": {}}})
                raw = json.dumps(block["input"])
                for piece in (raw[: len(raw) // 2], raw[len(raw) // 2:]):
                    yield event("content_block_delta", {"type": "content_block_delta", "index": index, "delta": {
                        "type": "input_json_delta", "partial_json": piece}}, content=True)
            yield event("content_block_stop", {"type": "content_block_stop", "index": index})
        if reply.truncate:
            return
        yield event("message_delta", {"type": "message_delta",
                                      "delta": {"stop_reason": self._stop(reply), "stop_sequence": None},
                                      "usage": {"output_tokens": u["output_tokens"]}})
        yield event("message_stop", {"type": "message_stop"})
