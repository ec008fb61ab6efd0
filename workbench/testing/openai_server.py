"""FakeOpenAIServer: ``POST /v1/chat/completions`` (JSON and SSE) and ``GET /v1/models``."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any, Iterator

from workbench.testing.script import Reply
from workbench.testing.server import FakeServer, Frame, frame

_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                404: "not_found_error", 429: "rate_limit_error"}


class FakeOpenAIServer(FakeServer):
    """Speaks OpenAI chat completions; point any OpenAI SDK or compatible client at ``base_url``."""

    url_suffix = "/v1"

    def handle(self, h, method: str, path: str, body: Any) -> None:
        if method == "POST" and path.endswith("/chat/completions"):
            if not isinstance(body, dict):        # what the real API answers to a body it cannot read
                h.send_json(400, {"error": {"message": "We could not parse the JSON body of your request.",
                                            "type": "invalid_request_error", "code": None}})
                return
            stream = bool(body.get("stream"))
            self.serve_reply(h, self.next_reply(body), body, stream)
        elif method == "POST" and path.endswith("/embeddings"):
            self.serve_embeddings(h, body)
        elif method == "GET" and path.endswith("/models"):
            h.send_json(200, {"object": "list", "data": [{"id": "fake-model", "object": "model",
                                                          "owned_by": "workbench"}]})
        else:
            self.not_found(h, path)

    def serve_embeddings(self, h, body: Any) -> None:
        from workbench.testing.embeddings import as_base64, fake_embedding, inputs_of

        if not isinstance(body, dict) or not body.get("input"):
            h.send_json(400, {"error": {"message": "'input' is required.", "type": "invalid_request_error",
                                        "code": None}})
            return
        reply = self.next_embedding_failure()
        if reply is not None:
            self.serve_reply(h, reply, body, False)
            return
        dim = int(body.get("dimensions") or self.embedding_dim)
        texts = inputs_of(body)
        data = []
        for i, text in enumerate(texts):
            vector = fake_embedding(text, dim)
            data.append({"object": "embedding", "index": i,
                         "embedding": as_base64(vector) if body.get("encoding_format") == "base64" else vector})
        tokens = sum(len(t.split()) for t in texts)
        h.send_json(200, {"object": "list", "data": data, "model": body.get("model", "fake-embed"),
                          "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})

    def error_body(self, reply: Reply) -> Any:
        return {"error": {"message": reply.error or f"fake HTTP {reply.status}",
                          "type": _ERROR_TYPES.get(reply.status, "server_error"), "code": None}}

    def stream_error_frame(self, reply: Reply) -> Frame:
        error = {"error": {"message": reply.error or "stream failed", "type": reply.error_type, "code": None}}
        return frame(b"data: " + json.dumps(error).encode() + b"\n\n")

    @staticmethod
    def _usage(reply: Reply, body: Any) -> dict[str, int]:
        u = reply.usage_for(body)
        return {"prompt_tokens": u.get("input_tokens", 0), "completion_tokens": u.get("output_tokens", 0),
                "total_tokens": u.get("input_tokens", 0) + u.get("output_tokens", 0)}

    def response_body(self, reply: Reply, body: Any) -> Any:
        message: dict[str, Any] = {"role": "assistant", "content": reply.inline_text or None}
        if reply.native_thinking:
            message[reply.reasoning_field] = reply.native_thinking
        if reply.tool_calls:
            message["tool_calls"] = [{"id": c.id, "type": "function",
                                      "function": {"name": c.name, "arguments": c.arguments_json}}
                                     for c in reply.tool_calls]
        return {"id": "chatcmpl-" + uuid.uuid4().hex[:16], "object": "chat.completion", "created": int(time.time()),
                "model": reply.model or body.get("model", "fake-model"),
                "choices": [{"index": 0, "message": message, "finish_reason": reply.finish(), "logprobs": None}],
                "usage": self._usage(reply, body)}

    def stream_frames(self, reply: Reply, body: Any) -> Iterator[Frame]:
        head = {"id": "chatcmpl-" + uuid.uuid4().hex[:16], "object": "chat.completion.chunk",
                "created": int(time.time()), "model": reply.model or body.get("model", "fake-model")}
        prefix = json.dumps(head)[:-1] + ', "choices": '   # reused: only the choices change

        def event(delta: dict, finish: str | None = None, content: bool = False) -> Frame:
            choices = json.dumps([{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}])
            return frame(b"data: " + (prefix + choices + "}").encode() + b"\n\n", content)

        yield event({"role": "assistant", "content": ""})
        if reply.native_thinking:
            for piece in reply.pieces(reply.native_thinking):
                yield event({reply.reasoning_field: piece}, content=True)
        for piece in reply.pieces(reply.inline_text):
            yield event({"content": piece}, content=True)
        for i, call in enumerate(reply.tool_calls):
            yield event({"tool_calls": [{"index": i, "id": call.id, "type": "function",
                                         "function": {"name": call.name, "arguments": ""}}]})
            for piece in _halves(call.arguments_json):
                yield event({"tool_calls": [{"index": i, "function": {"arguments": piece}}]}, content=True)
        if reply.truncate:
            return
        yield event({}, reply.finish())
        if (body.get("stream_options") or {}).get("include_usage"):
            usage = dict(head, choices=[], usage=self._usage(reply, body))
            yield frame(b"data: " + json.dumps(usage).encode() + b"\n\n")
        yield frame(b"data: [DONE]\n\n")


def _halves(text: str) -> list[str]:
    # Arguments arrive in fragments on the real API; two are enough to test accumulation.
    if len(text) < 2:
        return [text] if text else []
    mid = len(text) // 2
    return [text[:mid], text[mid:]]
