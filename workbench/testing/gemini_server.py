"""FakeGeminiServer: the Gemini API's ``generateContent`` for image models (stdlib only).

``POST /v1beta/models/{model}:generateContent`` answers one candidate whose parts are a
short text and an ``inlineData`` PNG (its colour follows the prompt, as on the fake OpenAI
images endpoint, its shape the asked ``aspectRatio``); ``:streamGenerateContent?alt=sse`` sends the same as server-sent events,
first ``thought_images`` interim "thought" images (``"thought": true``), then the answer.
Point the google-genai SDK at it with ``http_options={"base_url": server.base_url}``.

Script refusals with ``queue_for("images", Reply(finish_reason="IMAGE_SAFETY"))`` (the
candidate ends with that reason and no image) or ``Reply(error="PROHIBITED_CONTENT",
finish_reason="blocked")`` (the prompt is blocked: ``promptFeedback.blockReason``, no
candidate); ``Reply(status=429)`` etc. answer Google's error body.
"""

from __future__ import annotations

import json
import time
from typing import Any

from workbench.testing.script import Reply
from workbench.testing.server import FakeServer, frame

_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
           429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}


class FakeGeminiServer(FakeServer):
    thought_images = 1            # interim thought images in a stream

    def handle(self, h, method: str, path: str, body: Any) -> None:
        route = path.split("?", 1)[0]
        if method != "POST" or ":" not in route or "/models/" not in route:
            self.not_found(h, path)
            return
        model, _, verb = route.rsplit("/", 1)[-1].partition(":")
        if verb not in ("generateContent", "streamGenerateContent"):
            self.not_found(h, path)
            return
        prompt = _prompt_of(body)
        if not prompt:
            h.send_json(400, self.error_body(Reply(status=400, error="contents is not specified")))
            return
        reply = self.next_for("images") or Reply()
        if reply.delay:
            time.sleep(reply.delay)
        if reply.is_error:
            h.send_json(reply.status, self.error_body(reply))
            return
        answer = self.answer(model, prompt, body, reply)
        if verb == "generateContent":
            h.send_json(200, answer)
            return

        def events():
            for i in range(self.thought_images if "candidates" in answer else 0):
                thought = {"candidates": [{"content": {"role": "model", "parts": [
                    {"inlineData": {"mimeType": "image/png", "data": _png(prompt, (i + 1) / (self.thought_images + 2))},
                     "thought": True}]}, "index": 0}], "modelVersion": model}
                yield frame(b"data: " + json.dumps(thought).encode() + b"\r\n\r\n", True)
            yield frame(b"data: " + json.dumps(answer).encode() + b"\r\n\r\n", True)

        h.send_stream("text/event-stream", events(), reply, frame(b""))

    def answer(self, model: str, prompt: str, body: Any, reply: Reply) -> dict[str, Any]:
        tokens = len(prompt.split())
        usage = {"promptTokenCount": tokens, "candidatesTokenCount": 1290, "totalTokenCount": tokens + 1290}
        if reply.finish_reason == "blocked":
            return {"promptFeedback": {"blockReason": reply.error or "SAFETY"}, "usageMetadata": usage,
                    "modelVersion": model}
        if reply.finish_reason and reply.finish_reason != "STOP":
            text = reply.text or "I can't make that image."
            return {"candidates": [{"content": {"role": "model", "parts": [{"text": text}]},
                                    "finishReason": reply.finish_reason, "index": 0}],
                    "usageMetadata": usage, "modelVersion": model}
        parts = [{"text": reply.text or f"Here is {prompt}."},
                 {"inlineData": {"mimeType": "image/png", "data": _png(prompt, 1.0, _aspect(body))}}]
        return {"candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}],
                "usageMetadata": usage, "modelVersion": model, "responseId": "fake-" + str(len(self.requests))}

    def error_body(self, reply: Reply) -> Any:
        return {"error": {"code": reply.status, "message": reply.error or f"fake HTTP {reply.status}",
                          "status": _STATUS.get(reply.status, "UNKNOWN")}}


def _prompt_of(body: Any) -> str:
    if not isinstance(body, dict):
        return ""
    texts = []
    for content in body.get("contents") or []:
        for part in (content or {}).get("parts") or []:
            if isinstance(part, dict) and part.get("text"):
                texts.append(str(part["text"]))
    return " ".join(texts)


def _aspect(body: Any) -> str | None:
    """The picture's size for the asked aspect ratio ("16:9" -> 1024x576), as the images fake takes it."""
    ratio = ((body.get("generationConfig") or {}).get("imageConfig") or {}).get("aspectRatio")
    try:
        w, h = (int(v) for v in str(ratio).split(":"))
    except ValueError:
        return None
    side = 1024
    return f"{side}x{side * h // w}" if w >= h else f"{side * w // h}x{side}"


def _png(prompt: str, shade: float, size: str | None = None) -> str:
    from workbench.testing.images import prompt_png_b64

    return prompt_png_b64(prompt, size, shade=shade)
