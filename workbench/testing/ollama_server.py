"""FakeOllamaServer: ``POST /api/chat`` (JSON, or NDJSON when streaming, Ollama's default),
plus ``/api/tags``, ``/api/show``, ``/api/version`` and ``/`` for clients that probe them."""

from __future__ import annotations

import json
import time
from typing import Any, Iterator

from workbench.testing.script import Reply
from workbench.testing.server import FakeServer, Frame, frame


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000000Z", time.gmtime())


class FakeOllamaServer(FakeServer):
    """Speaks Ollama's chat API; pass ``base_url`` as the host of ``ollama.Client`` or the client."""

    stream_content_type = "application/x-ndjson"

    def handle(self, h, method: str, path: str, body: Any) -> None:
        if method == "POST" and path == "/api/chat":
            stream = not isinstance(body, dict) or body.get("stream", True) is not False
            self.serve_reply(h, self.next_reply(body), body, stream)
        elif method == "POST" and path == "/api/embed":
            from workbench.testing.embeddings import fake_embedding, inputs_of

            reply = self.next_for("embeddings")
            if reply is not None and reply.is_error:
                self.serve_reply(h, reply, body, False)
                return
            texts = inputs_of(body if isinstance(body, dict) else {})
            dim = int((body or {}).get("dimensions") or self.embedding_dim)
            h.send_json(200, {"model": (body or {}).get("model", "fake-embed"),
                              "embeddings": [fake_embedding(t, dim) for t in texts],
                              "total_duration": 1000, "load_duration": 10, "prompt_eval_count": len(texts)})
        elif path == "/api/tags":
            h.send_json(200, {"models": [{"name": "fake-model:latest", "model": "fake-model:latest",
                                          "size": 1, "digest": "0" * 64, "details": {}}]})
        elif path == "/api/show":
            h.send_json(200, {"modelfile": "", "parameters": "", "template": "{{ .Prompt }}",
                              "details": {"family": "fake"}, "capabilities": ["completion", "tools", "thinking"]})
        elif path == "/api/version":
            h.send_json(200, {"version": "0.12.0"})
        elif path == "/":
            h.send_json(200, "Ollama is running")
        else:
            self.not_found(h, path)

    def error_body(self, reply: Reply) -> Any:
        return {"error": reply.error or f"fake HTTP {reply.status}"}

    def stream_error_frame(self, reply: Reply) -> Frame:
        return frame(json.dumps({"error": reply.error or "stream failed"}).encode() + b"\n")

    def _message(self, reply: Reply, content: str = "", thinking: str | None = None,
                 calls: bool = False) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if thinking:
            message["thinking"] = thinking
        if calls and reply.tool_calls:
            message["tool_calls"] = [{"function": {"name": c.name, "arguments": c.arguments_dict}}
                                     for c in reply.tool_calls]
        return message

    def _final(self, reply: Reply, body: Any, message: dict[str, Any]) -> dict[str, Any]:
        u = reply.usage_for(body)
        return {"model": reply.model or body.get("model", "fake-model"), "created_at": _now(), "message": message,
                "done": True, "done_reason": reply.finish_reason or "stop", "total_duration": 1000,
                "load_duration": 10, "prompt_eval_count": u["input_tokens"], "prompt_eval_duration": 100,
                "eval_count": u["output_tokens"], "eval_duration": 800}

    def response_body(self, reply: Reply, body: Any) -> Any:
        return self._final(reply, body, self._message(reply, reply.inline_text, reply.native_thinking, True))

    def stream_frames(self, reply: Reply, body: Any) -> Iterator[Frame]:
        model = reply.model or body.get("model", "fake-model")

        def line(message: dict[str, Any], content: bool = True) -> Frame:
            part = {"model": model, "created_at": _now(), "message": message, "done": False}
            return frame(json.dumps(part).encode() + b"\n", content)

        for piece in reply.pieces(reply.native_thinking or ""):
            yield line(self._message(reply, "", piece))
        for piece in reply.pieces(reply.inline_text):
            yield line(self._message(reply, piece))
        if reply.tool_calls:   # Ollama sends tool calls whole, in one part
            yield line(self._message(reply, calls=True))
        if reply.truncate:
            return
        yield frame(json.dumps(self._final(reply, body, self._message(reply))).encode() + b"\n")
