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
        elif method == "POST" and path.endswith("/images/generations"):
            self.serve_images(h, body)
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
        reply = self.next_for("embeddings")
        if reply is not None and reply.is_error:
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

    def serve_images(self, h, body: Any) -> None:
        """The Images API: ``b64_json`` PNGs whose colour follows the prompt; with
        ``stream`` the ``image_generation.partial_image`` / ``.completed`` events."""
        from workbench.testing.images import prompt_png_b64

        if not isinstance(body, dict) or not body.get("prompt"):
            h.send_json(400, {"error": {"message": "'prompt' is required.", "type": "invalid_request_error",
                                        "code": None}})
            return
        reply = self.next_for("images") or Reply()
        if reply.delay:
            time.sleep(reply.delay)
        if reply.is_error:
            h.send_json(reply.status, {"error": {"message": reply.error or f"fake HTTP {reply.status}",
                                                 "type": "image_generation_user_error" if reply.status == 400
                                                 else reply.error_type,
                                                 "code": "moderation_blocked" if reply.status == 400 else None}})
            return
        prompt, size = body["prompt"], body.get("size")
        usage = {"input_tokens": len(prompt.split()), "output_tokens": 272, "total_tokens": len(prompt.split()) + 272,
                 "input_tokens_details": {"text_tokens": len(prompt.split()), "image_tokens": 0}}
        created = int(time.time())
        if not body.get("stream"):
            data = [{"b64_json": prompt_png_b64(prompt, size), "revised_prompt": f"{prompt} (revised)"}
                    for _ in range(int(body.get("n") or 1))]
            h.send_json(200, {"created": created, "data": data, "usage": usage, "output_format": "png",
                              "size": size or "1024x1024", "quality": "medium", "background": "opaque"})
            return
        partials = int(body.get("partial_images") or 0)
        common = {"created_at": created, "size": size or "1024x1024", "quality": "medium", "background": "opaque",
                  "output_format": "png"}

        def events():
            for i in range(partials):
                event = {"type": "image_generation.partial_image", "partial_image_index": i,
                         "b64_json": prompt_png_b64(prompt, size, shade=(i + 1) / (partials + 1)), **common}
                yield frame(b"event: image_generation.partial_image\ndata: " + json.dumps(event).encode() + b"\n\n",
                            True)
            done = {"type": "image_generation.completed", "b64_json": prompt_png_b64(prompt, size), "usage": usage,
                    **common}
            yield frame(b"event: image_generation.completed\ndata: " + json.dumps(done).encode() + b"\n\n", True)

        h.send_stream(self.stream_content_type, events(), reply, self.stream_error_frame(reply))

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
